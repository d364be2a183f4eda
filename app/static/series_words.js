// The series editor in words: show only the fields of the chosen frequency and ending.
// Without this script every field shows and the form works the same (progressive enhancement).
(function () {
  'use strict';
  var box = document.getElementById('series-words');
  if (!box) { return; }
  var repeat = document.getElementById('repeat');
  var end = document.getElementById('repeat_end');
  function show() {
    box.querySelectorAll('[data-repeat]').forEach(function (part) {
      part.hidden = part.dataset.repeat.split(' ').indexOf(repeat.value) < 0;
    });
    box.querySelectorAll('[data-end]').forEach(function (part) {
      part.hidden = part.dataset.end !== end.value;
    });
  }
  repeat.addEventListener('change', show);
  end.addEventListener('change', show);
  show();
}());
