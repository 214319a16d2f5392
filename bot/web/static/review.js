/* The Review page (bot/web/templates/review.html): searching the list of facts as one types, and choosing
   "answered by a fact" when a fact is chosen. Without this script the page works the same, the list unfiltered. */
(function () {
  "use strict";

  var search = document.getElementById("fact-search");
  var list = document.getElementById("fact-list");
  var count = document.getElementById("fact-count");
  if (search && list) {
    var items = Array.prototype.slice.call(list.querySelectorAll("li"));
    search.addEventListener("input", function () {
      var words = search.value.toLowerCase().split(/\s+/).filter(Boolean);
      var shown = 0;
      items.forEach(function (item) {
        var text = item.getAttribute("data-search") || "";
        var match = words.every(function (word) {
          return text.indexOf(word) !== -1;
        });
        item.hidden = !match;
        shown += match ? 1 : 0;
      });
      if (count) {
        count.textContent = words.length ? shown + " of " + items.length + " facts" : "";
      }
    });
  }

  // Choosing a fact is choosing that decision: the radio button follows.
  Array.prototype.forEach.call(document.querySelectorAll("form.decide [name=fact]"), function (input) {
    input.addEventListener("change", function () {
      var radio = input.form.querySelector("input[name=decision][value=fact]");
      if (radio && input.value.trim()) {
        radio.checked = true;
      }
    });
  });
})();
