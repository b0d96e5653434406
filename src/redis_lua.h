/*
 * redis_lua.h - the Lua scripts of the shared frontier (redis_lua.c
 * describes the keys and each script's arguments and answer).
 */
#ifndef PG_REDIS_LUA_H
#define PG_REDIS_LUA_H

extern const char pg__lua_join[];
extern const char pg__lua_seed[];
extern const char pg__lua_claim[];
extern const char pg__lua_complete[];
extern const char pg__lua_renew[];
extern const char pg__lua_seeded[];
extern const char pg__lua_state[];
extern const char pg__lua_hold[];
extern const char pg__lua_gap[];

#endif
