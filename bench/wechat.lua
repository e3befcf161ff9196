-- wrk script for bench/webhook.py: unique MsgIds, 1,000 residents, commands or free words.
local sets = {
  commands = {"菜单", "帮助", "我的信息", "取消"},
  free = {"你好", "议事会几时开", "我的时间还有多少", "唔该晒", "社区电话是多少", "楼道灯坏了好几天了",
          "2", "我报咗名未", "那个那个，电梯又坏咗", "算了"},
}
local words = sets.commands
local counter, threads = 0, {}
local nthreads = 0

function setup(thread)
  nthreads = nthreads + 1
  thread:set("tid", nthreads)
  table.insert(threads, thread)
end

function init(args)
  path = args[1]
  base = tonumber(args[2])
  words = sets[args[3] or "commands"] or sets.commands
end

function request()
  counter = counter + 1
  local id = base + tid * 100000000 + counter
  local who = "obench" .. (id % 1000)
  local body = "<xml><ToUserName><![CDATA[gh_bench]]></ToUserName><FromUserName><![CDATA[" .. who ..
    "]]></FromUserName><CreateTime>1700000000</CreateTime><MsgType><![CDATA[text]]></MsgType>" ..
    "<Content><![CDATA[" .. words[(counter % #words) + 1] .. "]]></Content><MsgId>" .. id ..
    "</MsgId></xml>"
  return wrk.format("POST", path, {["Content-Type"] = "text/xml"}, body)
end

function done(summary, latency, requests)
  io.write(string.format(
    'RESULT {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "errors": %d, "non2xx": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status))
end
