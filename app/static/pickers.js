// Searchable pickers (Tom Select, served from /static/vendor) for long multiple selects marked
// data-picker. Without JavaScript they stay plain multiple selects and the form works the same.
(function () {
  if (typeof TomSelect === "undefined") return;
  document.querySelectorAll("select[data-picker]").forEach(function (select) {
    new TomSelect(select, {
      plugins: ["remove_button"],
      maxOptions: null,
      hidePlaceholder: true,
      closeAfterSelect: false,
      placeholder: select.dataset.placeholder || "",
      searchField: ["text"],
    });
  });
})();
