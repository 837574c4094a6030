/**
 * The Lua script that appends one record: deduplication check, `XADD` of every entry, marker,
 * in one atomic step on the server.
 *
 * `KEYS[1]` the stream, `KEYS[2]` the record's marker (same hash slot, see ./key-template.ts).
 * `ARGV`: marker TTL in ms (0: no deduplication), `MAXLEN ~` cap (0: none), number of entries,
 * then per entry its number of fields followed by the field/value pairs.
 *
 * Returns -1 when the marker exists (a redelivery: nothing appended), otherwise the number of
 * entries appended.
 *
 * The order matters: the check and the type test only read, the marker is written last. A
 * Lua script is not rolled back when a command in it fails, so a failure must come before the
 * first write: `WRONGTYPE` is tested up front (the explicit `TYPE`), and `OOM` is refused by
 * Redis at the first write of a script that has not written yet. Once the first `XADD` ran,
 * the rest runs too (Redis lets a script that already wrote finish, even over `maxmemory`), so
 * a record is appended whole, marker included, or not at all; with `appendfsync always` the
 * whole script's effect reaches the AOF as one `MULTI`/`EXEC` before the reply.
 */
export const APPEND_SCRIPT = `
local ttl = tonumber(ARGV[1])
if ttl > 0 and redis.call('EXISTS', KEYS[2]) == 1 then
  return -1
end
local kind = redis.call('TYPE', KEYS[1])['ok']
if kind ~= 'none' and kind ~= 'stream' then
  return redis.error_reply('WRONGTYPE Operation against a key holding the wrong kind of value')
end
local head
if tonumber(ARGV[2]) > 0 then
  head = {'XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*'}
else
  head = {'XADD', KEYS[1], '*'}
end
local entries = tonumber(ARGV[3])
local i = 4
for e = 1, entries do
  local n = tonumber(ARGV[i])
  i = i + 1
  local args = {}
  for h = 1, #head do
    args[h] = head[h]
  end
  for f = i, i + 2 * n - 1 do
    args[#args + 1] = ARGV[f]
  end
  i = i + 2 * n
  redis.call(unpack(args))
end
if ttl > 0 then
  redis.call('SET', KEYS[2], '1', 'PX', ttl)
end
return entries
`;

/** The name the script is defined under on each ioredis connection (`defineCommand`). */
export const APPEND_COMMAND = 'walshipAppend';

/** What the script answers for a record that was already appended (its marker exists). */
export const ALREADY_APPENDED = -1;
