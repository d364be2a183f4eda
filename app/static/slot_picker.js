// A free slot offered by the conflict check fills the start and end fields of the form
// (activity form and rescheduling); on the activity form it also marks the venue conflict solved.
(function () {
  document.querySelectorAll(".use-slot").forEach(function (button) {
    button.addEventListener("click", function () {
      document.getElementById("starts_at").value = button.dataset.start;
      document.getElementById("ends_at").value = button.dataset.end;
      var conflict = document.getElementById("venue-conflict");
      if (conflict) conflict.classList.replace("alert-danger", "alert-success");
      button.classList.replace("btn-outline-primary", "btn-primary");
    });
  });
})();
