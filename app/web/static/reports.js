// The report page's charts, drawn with ECharts (served by the app from npm, see app/web/vendor.py).
// The figures come from the page's JSON block #report-data, already in the page's language.
(function () {
  "use strict";
  var block = document.getElementById("report-data");
  if (!block || typeof echarts === "undefined") { return; }
  var data = JSON.parse(block.textContent);

  function draw(id, option) {
    var element = document.getElementById(id);
    if (!element) { return; }
    var chart = echarts.init(element);
    chart.setOption(option);
    window.addEventListener("resize", function () { chart.resize(); });
  }

  draw("chart-series", {
    tooltip: { trigger: "axis" }, legend: {},
    xAxis: { type: "category", data: data.series.keys },
    yAxis: [{ type: "value", minInterval: 1 }, { type: "value", max: 100, axisLabel: { formatter: "{value}%" } }],
    series: [
      { name: data.labels.tickets, type: "bar", data: data.series.tickets },
      { name: data.labels.resolved, type: "bar", data: data.series.resolved },
      { name: data.labels.on_time, type: "line", yAxisIndex: 1, connectNulls: true, data: data.series.on_time }
    ]
  });
  draw("chart-groups", {
    tooltip: { trigger: "axis" }, legend: {},
    xAxis: { type: "category", data: data.groups.labels, axisLabel: { interval: 0, rotate: 20 } },
    yAxis: { type: "value", minInterval: 1 },
    series: [
      { name: data.labels.tickets, type: "bar", data: data.groups.tickets },
      { name: data.labels.resolved, type: "bar", data: data.groups.resolved }
    ]
  });
  draw("chart-types", {
    tooltip: { trigger: "item" },
    series: [{ type: "pie", radius: ["35%", "65%"], data: data.types }]
  });
  // the survey's questions sharing one scale (e.g. 1-5) as grouped bars; else the first dimension alone
  var dims = data.satisfaction.filter(function (d) { return d.dimension !== "opinion"; });
  var first = dims[0] || data.satisfaction[0];
  if (first) {
    var same = (dims.length ? dims : [first]).filter(function (d) {
      return d.labels.join("\u0000") === first.labels.join("\u0000");
    });
    draw("chart-satisfaction", {
      tooltip: { trigger: "axis" },
      legend: { data: same.map(function (d) { return d.title; }) },
      xAxis: { type: "category", data: first.labels },
      yAxis: { type: "value", minInterval: 1 },
      series: same.map(function (d) { return { name: d.title, type: "bar", data: d.counts }; })
    });
  }
}());
