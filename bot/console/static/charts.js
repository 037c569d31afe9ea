/* Draws every `.chart[data-source]` element of a page with Apache ECharts (echarts.simple.min.js, loaded
   before this file). The page keeps each chart's numbers in a JSON block (never executed, so the CSP allows it)
   whose id the element's data-source names:
     {"type": "bar" | "line" | "pie",
      "categories": [...],             the x axis (or the slices of a pie)
      "format": "{value}月",           optional: how a category is written
      "percent": true,                 optional: the values are fractions, written as percentages
      "series": [{"name": "积分", "data": [...]}, ...]}
   The colours are console.css's --chart-0 … --chart-5. The vendored build has no legend or tooltip
   component: values are written on the bars, and a chart of several series gets a legend in HTML below it.
   A drawn chart gets data-drawn="true" (browser tests wait for it). */
(function () {
  "use strict";
  var PALETTE = 6;  /* --chart-0 … --chart-5 */

  function colours() {
    var style = window.getComputedStyle(document.documentElement);
    var found = [];
    for (var i = 0; i < PALETTE; i += 1) {
      found.push(style.getPropertyValue("--chart-" + i).trim());
    }
    return found;
  }

  function category(spec, value) {
    return spec.format ? spec.format.replace("{value}", value) : String(value);
  }

  function written(spec, value) {
    if (value === null || value === undefined) {
      return "—";
    }
    return spec.percent ? (value * 100).toFixed(1) + "%" : String(value);
  }

  function pie(spec, names) {
    var first = spec.series[0];
    return {
      color: colours(),
      series: [{ type: "pie", name: first.name, radius: "60%",
                 data: first.data.map(function (value, i) { return { name: names[i], value: value }; }) }]
    };
  }

  function axes(spec, names) {
    return {
      color: colours(),
      grid: { left: 8, right: 16, top: 24, bottom: 8, containLabel: true },
      xAxis: { type: "category", data: names },
      yAxis: { type: "value", minInterval: spec.percent ? 0 : 1, max: spec.percent ? 1 : null,
               axisLabel: { formatter: function (value) { return written(spec, value); } } },
      series: spec.series.map(function (s) {
        return { type: spec.type, name: s.name, data: s.data,
                 label: { show: true, position: "top",
                          formatter: function (p) { return p.value ? written(spec, p.value) : ""; } } };
      })
    };
  }

  function legend(element, spec) {
    if (spec.type === "pie" || spec.series.length < 2) {
      return;
    }
    var list = document.createElement("ul");
    list.className = "chart-legend";
    spec.series.forEach(function (s, i) {
      var item = document.createElement("li");
      var swatch = document.createElement("span");
      swatch.className = "swatch c" + (i % PALETTE);
      item.appendChild(swatch);
      item.appendChild(document.createTextNode(s.name));
      list.appendChild(item);
    });
    element.parentNode.insertBefore(list, element.nextSibling);
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
    legend(element, spec);
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
