// The two Lua scripts that make the cluster's shared state safe: each runs atomically in Redis.
// commit: one turn's writes of a node as one transaction, every write to a session fenced by
// the token the node holds for it (a slow node that lost a session cannot write over its new
// owner). claim: who gets a client id, and what the claimer must do to have its session.
// Key names as in cluster-keys.ts.

/**
 * ARGV: node, max log length, then ops of five fields (op, a, b, c, d):
 *   x frames                  append the turn's messages to the log, packed as one entry
 *   r topic frame|''          set or clear a retained message
 *   m key frame               a message kept by sessions (refcounted by their q ops)
 *   s cid token json|''       the session record
 *   q cid token seq json|''   a kept message of the session (json.k names its message)
 *   i cid token id '1'|'0'    an inbound QoS 2 id
 *   h cid token newToken      hand the session to newToken's node; tells the log
 *   d cid token               the session ended: the client id is nobody's
 *   c id                      the node's log cursor
 *   g group cid '1'|'0'       a member joins or leaves a shared group; a change is told in the log
 * Returns the client ids whose writes were fenced off.
 */
export const COMMIT_SCRIPT = `
local node, maxlen = ARGV[1], ARGV[2]
local fenced, checked, messages = {}, {}, {}
local function mine(cid, token)
  local ok = checked[cid]
  if ok == nil then
    ok = redis.call('GET', 'warden:owner:' .. cid) == token
    checked[cid] = ok
    if not ok then fenced[#fenced + 1] = cid end
  end
  return ok
end
local function unref(key)
  local mk = 'warden:msg:' .. key
  if redis.call('HINCRBY', mk, 'r', -1) <= 0 then redis.call('DEL', mk) end
end
for i = 3, #ARGV, 5 do
  local op, a, b, c, d = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4]
  if op == 'x' then
    redis.call('XADD', 'warden:log', 'MAXLEN', '~', maxlen, '*', 'm', a)
  elseif op == 'r' then
    if b == '' then redis.call('HDEL', 'warden:retained', a) else redis.call('HSET', 'warden:retained', a, b) end
  elseif op == 'm' then
    redis.call('HSETNX', 'warden:msg:' .. a, 'f', b)
    messages[#messages + 1] = a
  elseif op == 's' then
    if mine(a, b) then
      if c == '' then redis.call('DEL', 'warden:session:' .. a) else redis.call('SET', 'warden:session:' .. a, c) end
    end
  elseif op == 'q' then
    if mine(a, b) then
      local qk = 'warden:queued:' .. a
      local old = redis.call('HGET', qk, c)
      if d == '' then
        if old then
          redis.call('HDEL', qk, c)
          unref(cjson.decode(old).k)
        end
      else
        redis.call('HSET', qk, c, d)
        if not old then redis.call('HINCRBY', 'warden:msg:' .. cjson.decode(d).k, 'r', 1) end
      end
    end
  elseif op == 'i' then
    if mine(a, b) then
      if d == '1' then redis.call('SADD', 'warden:inbound:' .. a, c) else redis.call('SREM', 'warden:inbound:' .. a, c) end
    end
  elseif op == 'h' then
    local current = redis.call('GET', 'warden:owner:' .. a)
    if current == b or current == false then
      redis.call('SET', 'warden:owner:' .. a, c)
      redis.call('SREM', 'warden:owned:' .. node, a)
      redis.call('SADD', 'warden:owned:' .. string.match(c, '@(.*)$'), a)
      redis.call('XADD', 'warden:log', 'MAXLEN', '~', maxlen, '*', 'c', cjson.encode({ t = 'released', c = a, o = c }))
    end
    checked[a] = false
  elseif op == 'd' then
    if redis.call('GET', 'warden:owner:' .. a) == b then
      redis.call('DEL', 'warden:owner:' .. a)
      redis.call('SREM', 'warden:owned:' .. node, a)
    end
  elseif op == 'c' then
    redis.call('HSET', 'warden:cursors', node, a)
  elseif op == 'g' then
    local sk = 'warden:share:' .. a
    local changed
    if c == '1' then
      changed = redis.call('SADD', sk, b)
      redis.call('SADD', 'warden:shares', a)
    else
      changed = redis.call('SREM', sk, b)
      if redis.call('SCARD', sk) == 0 then redis.call('SREM', 'warden:shares', a) end
    end
    if changed == 1 then
      redis.call('XADD', 'warden:log', 'MAXLEN', '~', maxlen, '*', 'c', cjson.encode({ t = 'share', g = a, c = b, m = c }))
    end
  end
end
for _, key in ipairs(messages) do
  local mk = 'warden:msg:' .. key
  if (tonumber(redis.call('HGET', mk, 'r')) or 0) <= 0 then redis.call('DEL', mk) end
end
return fenced
`;

/**
 * ARGV: client id, node, max log length, '1' when a dead owner's sessions may be taken (not just
 * after Redis came back: every heartbeat has expired then). Returns [kind, token, at]:
 *   mine   this node owns it already
 *   new    nobody did: this node does now
 *   taken  its owner is dead: this node owns it now, and must route to it what the log holds
 *          after `at` (the dead node's cursor)
 *   wait   a live node owns it: a claim is in the log at `at`; that node hands it over
 *   later  its owner looks dead, but too soon after Redis came back to tell
 */
export const CLAIM_SCRIPT = `
local cid, node, maxlen = ARGV[1], ARGV[2], ARGV[3]
local okey = 'warden:owner:' .. cid
local current = redis.call('GET', okey)
if current then
  local owner = string.match(current, '@(.*)$')
  if owner == node then return { 'mine', current, '' } end
  local token = redis.call('INCR', 'warden:epoch') .. '@' .. node
  if redis.call('EXISTS', 'warden:node:' .. owner) == 1 then
    local id = redis.call('XADD', 'warden:log', 'MAXLEN', '~', maxlen, '*', 'c',
      cjson.encode({ t = 'claim', c = cid, o = token, f = current }))
    return { 'wait', token, id }
  end
  if ARGV[4] ~= '1' then return { 'later', '', '' } end
  redis.call('SET', okey, token)
  redis.call('SREM', 'warden:owned:' .. owner, cid)
  redis.call('SADD', 'warden:owned:' .. node, cid)
  return { 'taken', token, redis.call('HGET', 'warden:cursors', owner) or '0-0' }
end
local token = redis.call('INCR', 'warden:epoch') .. '@' .. node
redis.call('SET', okey, token)
redis.call('SADD', 'warden:owned:' .. node, cid)
return { 'new', token, '' }
`;

/**
 * ARGV: a node, this node. When that node's heartbeat has expired, every session it owned is
 * this node's now. Returns [its cursor, cid, token, cid, token...], or [] (alive, or nothing
 * left: then it is forgotten, so that its cursor no longer holds the log back).
 */
export const ADOPT_SCRIPT = `
local dead, me = ARGV[1], ARGV[2]
if redis.call('EXISTS', 'warden:node:' .. dead) == 1 then return {} end
local cids = redis.call('SMEMBERS', 'warden:owned:' .. dead)
if #cids == 0 then
  redis.call('SREM', 'warden:nodes', dead)
  redis.call('HDEL', 'warden:cursors', dead)
  return {}
end
local out = { redis.call('HGET', 'warden:cursors', dead) or '0-0' }
for _, cid in ipairs(cids) do
  local okey = 'warden:owner:' .. cid
  local current = redis.call('GET', okey)
  if current and string.match(current, '@(.*)$') == dead then
    local token = redis.call('INCR', 'warden:epoch') .. '@' .. me
    redis.call('SET', okey, token)
    redis.call('SADD', 'warden:owned:' .. me, cid)
    out[#out + 1] = cid
    out[#out + 1] = token
  end
end
redis.call('DEL', 'warden:owned:' .. dead)
return out
`;

/**
 * ARGV: node. What a node starts from, as of one moment of the log: [the log's last id, the
 * node's cursor or '', the retained messages (topic, frame...), the shared groups (group,
 * [members]...)].
 */
export const SNAPSHOT_SCRIPT = `
local last = redis.call('XREVRANGE', 'warden:log', '+', '-', 'COUNT', 1)
local id = '0-0'
if #last > 0 then id = last[1][1] end
local shares = {}
for _, g in ipairs(redis.call('SMEMBERS', 'warden:shares')) do
  shares[#shares + 1] = g
  shares[#shares + 1] = redis.call('SMEMBERS', 'warden:share:' .. g)
end
local cursor = redis.call('HGET', 'warden:cursors', ARGV[1]) or ''
return { id, cursor, redis.call('HGETALL', 'warden:retained'), shares }
`;
