// The activity form: the slot finder opens with this form's duration, date, venue and co-hosts
// (a picked slot comes back with the title and kind); the visit kind shows only for visits.
(function () {
  var finder = document.getElementById("open-finder");
  if (finder) {
    finder.addEventListener("click", function () {
      var start = document.getElementById("starts_at").value, end = document.getElementById("ends_at").value;
      var params = new URLSearchParams();
      if (start && end) {
        var minutes = Math.round((new Date(end) - new Date(start)) / 60000);
        if (minutes > 0) { params.set("duration", minutes); }
      }
      params.set("duration", params.get("duration") || "120");
      var from = start ? start.slice(0, 10) : new Date().toISOString().slice(0, 10);
      var to = new Date(from); to.setDate(to.getDate() + 30);
      params.set("date_from", from);
      params.set("date_to", to.toISOString().slice(0, 10));
      params.set("venue_id", document.getElementById("venue_id").value);
      document.querySelectorAll('input[name="cohost_ids"]:checked').forEach(function (box) { params.append("org_ids", box.value); });
      params.set("title", document.getElementById("title").value);
      params.set("kind", document.getElementById("kind").value);
      this.href = this.href.split("?")[0] + "?" + params.toString();
    });
  }
  var kind = document.getElementById("kind");
  if (kind && document.getElementById("visit_kind")) {
    var showVisitKind = function () {
      var isVisit = kind.value === "visit";
      document.getElementById("visit_kind").closest(".col-md-4").classList.toggle("d-none", !isVisit);
    };
    kind.addEventListener("change", showVisitKind);
    showVisitKind();
  }
})();
