// spotcheck console: small progressive enhancements; the pages work without it.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  // Ask before irreversible review actions.
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      var submitter = event.submitter;
      var text = (submitter && submitter.dataset.confirm) || form.dataset.confirm;
      if (text && !window.confirm(text)) { event.preventDefault(); }
    });
  });
  // Filter the rows of a long table as one types (plan items).
  document.querySelectorAll("input[data-filter-table]").forEach(function (input) {
    var table = document.getElementById(input.dataset.filterTable);
    if (!table) { return; }
    input.addEventListener("input", function () {
      var needle = input.value.trim().toLowerCase();
      table.querySelectorAll("tbody tr").forEach(function (row) {
        row.hidden = needle !== "" && row.textContent.toLowerCase().indexOf(needle) < 0;
      });
    });
  });
});
