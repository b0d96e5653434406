/* Nothing to run; only here to be downloaded. */
document.documentElement.className = "js";
