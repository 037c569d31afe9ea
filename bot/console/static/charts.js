/* Draws every `.chart[data-source]` element of a page with Apache ECharts (echarts.simple.min.js, loaded
   before this file). The page keeps each chart's numbers in a JSON block (never executed, so the CSP allows it)
   whose id the element's data-source names:
     {"type": "bar" | "line" | "pie",
      "categories": [...],             the x axis (or the slices of a pie)
      "format": "{value}月",           optional: how a category is written
      "percent": true,                 optional: the values are fractions, written as percentages
      "series": [{"name": "积分", "data": [...]}, ...]}
   A drawn chart gets data-drawn="true" (browser tests wait for it). */
(function () {
  "use strict";
  var COLOURS = ["#c8161d", "#e6a23c", "#2e7d32", "#1565c0", "#8e24aa", "#777777"];

  function category(spec, value) {
    return spec.format ? spec.format.replace("{value}", value) : String(value);
  }

  function written(spec, value) {
    return spec.percent ? Math.round(value * 1000) / 10 + "%" : String(value);
  }

  function pie(spec, names) {
    var first = spec.series[0];
    return {
      color: COLOURS,
      tooltip: { trigger: "item" },
      legend: { bottom: 0 },
      series: [{ type: "pie", name: first.name, radius: "60%",
                 data: first.data.map(function (value, i) { return { name: names[i], value: value }; }) }]
    };
  }

  function axes(spec, names) {
    var several = spec.series.length > 1;
    var format = function (value) { return written(spec, value); };
    return {
      color: COLOURS,
      tooltip: { trigger: "axis", valueFormatter: format },
      legend: several ? { top: 0 } : { show: false },
      grid: { left: 8, right: 16, top: several ? 36 : 24, bottom: 8, containLabel: true },
      xAxis: { type: "category", data: names },
      yAxis: { type: "value", minInterval: spec.percent ? 0 : 1, max: spec.percent ? 1 : null,
               axisLabel: { formatter: format } },
      series: spec.series.map(function (s) {
        return { type: spec.type, name: s.name, data: s.data,
                 label: { show: true, position: "top",
                          formatter: function (p) { return p.value ? written(spec, p.value) : ""; } } };
      })
    };
  }

  function draw(element) {
    var source = document.getElementById(element.getAttribute("data-source"));
    if (!source || !window.echarts) {
      return;
    }
    var spec = JSON.parse(source.textContent);
    var names = spec.categories.map(function (value) { return category(spec, value); });
    var chart = window.echarts.init(element);
    chart.setOption(spec.type === "pie" ? pie(spec, names) : axes(spec, names));
    element.setAttribute("data-drawn", "true");
    window.addEventListener("resize", function () { chart.resize(); });
  }

  function start() {
    Array.prototype.forEach.call(document.querySelectorAll(".chart[data-source]"), draw);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
}());
