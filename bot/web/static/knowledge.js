// The fact editor: the text selected in a source becomes a quote (one per line), with the PDF page it is on.
"use strict";
(function () {
  const button = document.getElementById("add-quote");
  const quotes = document.getElementById("quotes");
  const status = document.getElementById("quote-status");
  if (!button || !quotes) return;
  function pageOf(pre, range) {
    const pages = (pre.dataset.pages || "").split(",").filter(Boolean).map(Number);
    if (!pages.length) return null;
    const before = document.createRange();
    before.setStart(pre, 0);
    before.setEnd(range.startContainer, range.startOffset);
    const offset = before.toString().length;
    let page = 1;
    pages.forEach(function (start, index) { if (offset >= start) page = index + 1; });
    return page;
  }
  button.addEventListener("click", function () {
    const selection = window.getSelection();
    const text = selection ? selection.toString().replace(/\s+/g, " ").trim() : "";
    if (!text || !selection.rangeCount) { status.textContent = "Select words in a source text first."; return; }
    const range = selection.getRangeAt(0);
    const node = range.commonAncestorContainer;
    const pre = (node.nodeType === 1 ? node : node.parentElement).closest("pre.source-text");
    if (!pre) { status.textContent = "Select words inside a source text."; return; }
    quotes.value = (quotes.value.trim() ? quotes.value.trim() + "\n" : "") + text;
    const page = pageOf(pre, range);
    status.textContent = "Added the quote “" + text + "”" + (page ? " (page " + page + ")" : "") + ".";
  });
})();
