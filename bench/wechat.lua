-- wrk script for bench/webhook.py: unique MsgIds; menu words, free words, or a mix of whole
-- conversations (registrations, report flows, 我的报事, 议事会).
local sets = {
  commands = {"菜单", "帮助", "我的信息", "取消"},
  free = {"你好", "议事会几时开", "我的时间还有多少", "唔该晒", "社区电话是多少", "楼道灯坏了好几天了",
          "2", "我报咗名未", "那个那个，电梯又坏咗", "算了"},
}
-- mix: each thread owns 100 of the 1,000 registered residents and walks each through whole
-- conversations in turn, one message per request round-robin over them (so one person never
-- has two messages in flight); a registration takes a new follower through the QR code.
local scripts = {
  report = {"楼道灯坏了", "1", "跳过", "跳过", "1", "1"},
  register = {"@subscribe", "1", "跳过", "3栋2单元", "跳过"},
  status = {"我的报事"}, meeting = {"议事会"}, menu = {"菜单"}, hours = {"我的时间"},
}
local rotation = {"report", "status", "meeting", "menu", "register", "status", "meeting", "hours"}
local SLOTS = 100
local words = sets.commands
local mode
local counter, threads = 0, {}
local nthreads = 0
local slots = {}

function setup(thread)
  nthreads = nthreads + 1
  thread:set("tid", nthreads)
  table.insert(threads, thread)
end

function init(args)
  path = args[1]
  base = tonumber(args[2])
  mode = args[3] or "commands"
  words = sets[mode] or sets.commands
  busy_text = args[4]
  busy = 0
end

-- Replies with the busy text: a resident must never see it for something they typed.
function response(status, headers, body)
  if busy_text and body and string.find(body, busy_text, 1, true) then busy = busy + 1 end
end

local function envelope(who, inner)
  return "<xml><ToUserName><![CDATA[gh_bench]]></ToUserName><FromUserName><![CDATA[" .. who ..
    "]]></FromUserName>" .. inner .. "</xml>"
end

local function text(who, content, id)
  return envelope(who, "<CreateTime>1700000000</CreateTime><MsgType><![CDATA[text]]></MsgType>" ..
    "<Content><![CDATA[" .. content .. "]]></Content><MsgId>" .. id .. "</MsgId>")
end

-- The next message of the mix: the slot's next step, refilled from the rotation when done.
local function mixed(id)
  local n = ((counter - 1) % SLOTS) + 1
  local slot = slots[n]
  if slot == nil then
    slot = {who = "obench" .. ((tid - 1) * SLOTS + n - 1), turn = n, queue = {}}
    slots[n] = slot
  end
  if #slot.queue == 0 then
    local name = rotation[(slot.turn % #rotation) + 1]
    slot.turn = slot.turn + 1
    for _, step in ipairs(scripts[name]) do table.insert(slot.queue, step) end
    if name == "register" then slot.who = "onew" .. id end
  end
  local step = table.remove(slot.queue, 1)
  if step == "@subscribe" then
    return envelope(slot.who, "<CreateTime>" .. (id % 1000000000) .. "</CreateTime>" ..
      "<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[subscribe]]></Event>" ..
      "<EventKey><![CDATA[qrscene_jinning]]></EventKey>")
  end
  return text(slot.who, step, id)
end

function request()
  counter = counter + 1
  local id = base + tid * 100000000 + counter
  local body
  if mode == "mix" then
    body = mixed(id)
  else
    body = text("obench" .. (id % 1000), words[(counter % #words) + 1], id)
  end
  return wrk.format("POST", path, {["Content-Type"] = "text/xml"}, body)
end

function done(summary, latency, requests)
  local busy_replies = 0
  for _, thread in ipairs(threads) do busy_replies = busy_replies + (thread:get("busy") or 0) end
  io.write(string.format(
    'RESULT {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "errors": %d, "non2xx": %d, "busy": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status, busy_replies))
end
