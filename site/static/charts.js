// Draws the charts whose ECharts options the server embedded as JSON in
// data-chart attributes. Each chart has a table beside it, so without
// JavaScript (or ECharts) nothing is lost.
(function () {
  "use strict";
  if (!window.echarts) {
    return;
  }
  var charts = [];
  document.querySelectorAll("[data-chart]").forEach(function (el) {
    var options;
    try {
      options = JSON.parse(el.getAttribute("data-chart"));
    } catch (e) {
      return;
    }
    el.classList.add("candour-chart--drawn");
    var chart = window.echarts.init(el, null, { renderer: "svg" });
    chart.setOption(options);
    charts.push(chart);
  });
  window.addEventListener("resize", function () {
    charts.forEach(function (c) { c.resize(); });
  });
})();
