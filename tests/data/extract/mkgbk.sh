#!/bin/sh
# Regenerates the GBK-encoded fixtures of tests/unit/test_extract.c from
# the UTF-8 text below (run in this directory).  The generated files are
# committed; this script only documents how they were made.
set -eu

gbk() {
    iconv -f UTF-8 -t GBK > "$1"
}

# Declared by <meta charset>.
gbk gbk-meta.html <<'HTML'
<!DOCTYPE html>
<html><head><meta charset="gbk"><title>图片库</title></head>
<body>
<p>猫的图片</p>
<img src="/图片/猫.jpg" alt="猫">
<img src="相册/小 狗.png">
<a href="/相册/第1页.html">下一页</a>
</body></html>
HTML

# Declared by <meta http-equiv="Content-Type">, after 1 KB of comment.
{
    printf '<!DOCTYPE html>\n<html><head>\n<!-- '
    i=0
    while [ $i -lt 30 ]; do
        printf 'padding padding padding padding '
        i=$((i + 1))
    done
    printf -- '-->\n'
    cat <<'HTML'
<meta http-equiv="Content-Type" content="text/html; charset=GB2312">
<title>图片库</title></head>
<body><img src="/图片/猫.jpg"></body></html>
HTML
} | gbk gbk-http-equiv.html

# No declaration: only the Content-Type header tells.
gbk gbk-nometa.html <<'HTML'
<html><body>
<img src="/图片/猫.jpg">
<img src="/搜索?q=猫 狗&amp;页=2">
</body></html>
HTML
