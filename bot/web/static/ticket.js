/* The ticket page: after a reply, each route's state ("waiting to be sent") changes by itself to delivered,
   kept or failed, without a reload. It asks the back office for the states (GET, JSON, same origin: the
   page's CSP allows it) while any is still waiting, at first every second, then less often, and stops when
   all have settled or after a quarter of an hour (a retry an hour away: a reload shows it). */
(function () {
  "use strict";
  var heading = document.querySelector("[data-deliveries]");
  if (!heading) return;
  var url = heading.getAttribute("data-deliveries");
  var started = Date.now(), delay = 1000, timer = null;
  var MAX_DELAY = 10000, GIVE_UP_MS = 15 * 60 * 1000;

  function unsettled() { return document.querySelector("li.delivery-pending[data-delivery]") !== null; }

  function show(delivery) {
    var item = document.querySelector('li[data-delivery="' + String(Number(delivery.id)) + '"]');
    if (!item || typeof delivery.status !== "string" || typeof delivery.text !== "string") return;
    if (item.textContent !== delivery.text) item.textContent = delivery.text;
    item.className = "delivery-" + delivery.status.replace(/[^a-z_]/g, "");
  }

  function later() {
    clearTimeout(timer);
    if (!unsettled() || Date.now() - started > GIVE_UP_MS) return;
    timer = setTimeout(ask, delay);
    delay = Math.min(MAX_DELAY, delay * 1.5);
  }

  function ask() {
    if (document.hidden) { later(); return; }
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (body) {
        if (body && Array.isArray(body.deliveries)) body.deliveries.forEach(show);
        // Signed out or the ticket gone: the page stays as it is; a reload says why.
        if (body) later();
      })
      .catch(later);
  }

  document.addEventListener("visibilitychange", function () {
    if (!document.hidden && unsettled()) { delay = 1000; ask(); }
  });
  later();
})();
