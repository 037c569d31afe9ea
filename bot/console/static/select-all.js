/* A "全选" box ticks or clears every box of its form named by its data-ticks (the 待办 page's claims). */
(function () {
  "use strict";
  document.querySelectorAll("input[data-ticks]").forEach(function (all) {
    var boxes = function () {
      return all.form.querySelectorAll("input[type=checkbox][name='" + all.dataset.ticks + "']");
    };
    all.addEventListener("change", function () {
      boxes().forEach(function (box) { box.checked = all.checked; });
    });
  });
})();
