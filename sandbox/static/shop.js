// "Load more": fetch the next page of the collection as JSON and append product cards;
// also fires automatically when the button scrolls into view (infinite scroll).
(function () {
  "use strict";
  var btn = document.getElementById("load-more");
  var grid = document.getElementById("product-grid");
  if (!btn || !grid) { return; }
  var busy = false;
  function card(p) {
    var d = document.createElement("div");
    d.className = "product-card";
    d.setAttribute("data-product-id", p.id);
    var a = document.createElement("a");
    a.className = "product-link";
    a.href = p.url;
    var img = document.createElement("img");
    img.className = "lazy"; img.src = "/static/blank.svg"; img.setAttribute("data-src", p.image);
    img.width = 240; img.height = 240; img.alt = "";
    var t = document.createElement("span");
    t.className = "product-title";
    t.textContent = p.title;
    a.appendChild(img); a.appendChild(t);
    var m = document.createElement("span");
    m.className = "money";
    m.textContent = p.price_formatted;
    d.appendChild(a); d.appendChild(m);
    return d;
  }
  function more() {
    var next = btn.getAttribute("data-next");
    if (busy || !next) { return; }
    busy = true;
    fetch(next).then(function (r) { return r.json(); }).then(function (data) {
      data.products.forEach(function (p) { grid.appendChild(card(p)); });
      if (data.next_page) { btn.setAttribute("data-next", data.next_page); }
      else { btn.remove(); }
      if (window.sbxLazyScan) { window.sbxLazyScan(grid); }
      busy = false;
    }, function () { busy = false; });
  }
  btn.addEventListener("click", more);
  if ("IntersectionObserver" in window) {
    new IntersectionObserver(function (es) { if (es[0].isIntersecting) { more(); } }).observe(btn);
  }
})();
