// Dashboard charts (Apache ECharts, served from /console/static/vendor).
(function () {
  "use strict";
  const data = JSON.parse(document.getElementById("chart-data").textContent);
  function draw(id, kind, values) {
    const node = document.getElementById(id);
    const chart = echarts.init(node);
    const names = Object.keys(values), counts = Object.values(values);
    const title = { text: node.dataset.title, left: "center", textStyle: { fontSize: 14 } };
    if (kind === "pie") {
      // Labels wrap inside their own width, so 私事·建议 is never cut off on a narrow card.
      chart.setOption({ title: title, tooltip: { trigger: "item" },
        series: [{ type: "pie", radius: ["22%", "42%"], top: 30, avoidLabelOverlap: true,
                   label: { position: "outer", alignTo: "labelLine", formatter: "{b}\n{c}", width: 64,
                            overflow: "break", lineHeight: 14, distanceToLabelLine: 2 },
                   labelLine: { length: 14, length2: 8 }, labelLayout: { hideOverlap: false, moveOverlap: "shiftY" },
                   data: names.map(function (n, i) { return { name: n, value: counts[i] }; }) }] });
    } else {
      chart.setOption({ title: title, tooltip: {}, grid: { left: 40, right: 16, top: 40, bottom: 60 },
        xAxis: { type: "category", data: names, axisLabel: { rotate: names.length > 6 ? 40 : 0 } },
        yAxis: { type: "value", minInterval: 1 },
        series: [{ type: kind, data: counts, smooth: kind === "line" }] });
    }
    window.addEventListener("resize", function () { chart.resize(); });
  }
  draw("chart-tier", "pie", data.tier);
  draw("chart-path", "pie", data.path);
  draw("chart-status", "bar", data.status);
  draw("chart-category", "bar", data.category);
  draw("chart-days", "line", data.days);
})();
