// SBX Global: a small single-page app. Listing data only exists after these fetches run,
// so a crawler needs a real browser (or must call the JSON API itself).
(function () {
  "use strict";
  var app = document.getElementById("app");

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text !== undefined) { e.textContent = text; }  // textContent: hostile titles stay text
    return e;
  }
  function getJSON(url) {
    return fetch(url, { headers: { "Accept": "application/json" } }).then(function (r) {
      return r.json().then(function (body) { return { status: r.status, body: body }; });
    });
  }
  function link(href, text, cls) {
    var a = el("a", { href: href, "data-link": "1", class: cls || "" }, text);
    return a;
  }
  function card(it) {
    var c = el("div", { class: "card item-card", "data-id": it.id });
    var img = el("img", { class: "lazy", src: "/static/blank.svg", "data-src": it.image, width: "240", height: "240", alt: "" });
    var a = link(it.url, "", "item-link");
    a.appendChild(img);
    a.appendChild(el("div", { class: "item-title" }, it.title));
    c.appendChild(a);
    c.appendChild(el("div", { class: "price" }, it.price.formatted));
    c.appendChild(link("/store/" + it.seller.id, it.seller.name, "shop-link"));
    return c;
  }
  function renderList(title, url, page) {
    app.textContent = "";
    app.appendChild(el("h1", {}, title));
    var list = el("div", { class: "item-list", id: "items" });
    app.appendChild(list);
    var pager = el("div", { class: "pagination" });
    app.appendChild(pager);
    getJSON(url + (url.indexOf("?") < 0 ? "?" : "&") + "page=" + page + "&size=20").then(function (res) {
      res.body.items.forEach(function (it) { list.appendChild(card(it)); });
      if (page > 1) { pager.appendChild(link(location.pathname + "?page=" + (page - 1), "Prev", "prev")); }
      if (page < res.body.pages) { pager.appendChild(link(location.pathname + "?page=" + (page + 1), "Next", "next")); }
      app.setAttribute("data-ready", "1");
      if (window.sbxLazyScan) { window.sbxLazyScan(app); }
    });
  }
  function renderItem(id) {
    app.textContent = "";
    getJSON("/api/v1/items/" + encodeURIComponent(id)).then(function (res) {
      if (res.status !== 200) {
        var msg = res.body.error === "removed" ? "This item has been removed 该商品已下架" : "Item not found";
        app.appendChild(el("h1", { class: "error removed" }, msg));
        app.setAttribute("data-ready", "1");
        return;
      }
      var it = res.body;
      var d = el("div", { class: "detail", "data-id": it.id });
      d.appendChild(el("h1", { class: "item-title" }, it.title));
      d.appendChild(el("div", { class: "price", id: "price" }, it.price.formatted));
      var dl = el("dl", { class: "attrs" });
      [["Brand", it.brand, "brand"], ["Model", it.model, "model"], ["Origin", it.origin, "origin"],
       ["Certifications", (it.certifications || []).join(", ") || "none", "certs"]].forEach(function (row) {
        dl.appendChild(el("dt", {}, row[0]));
        dl.appendChild(el("dd", { class: row[2] }, row[1]));
      });
      d.appendChild(dl);
      d.appendChild(link("/store/" + it.seller.id, it.seller.name, "shop-link"));
      var f = el("form", { method: "post", action: "/cart/add", class: "buy" });
      f.appendChild(el("input", { type: "hidden", name: "item_id", value: it.id }));
      f.appendChild(el("input", { type: "hidden", name: "qty", value: "1" }));
      f.appendChild(el("button", { type: "submit", id: "add-to-cart", class: "add-to-cart" }, "Add to cart"));
      d.appendChild(f);
      it.images.forEach(function (src) {
        d.appendChild(el("img", { class: "lazy", src: "/static/blank.svg", "data-src": src, width: "240", height: "240", alt: "" }));
      });
      app.appendChild(d);
      app.setAttribute("data-ready", "1");
      if (window.sbxLazyScan) { window.sbxLazyScan(app); }
    });
  }
  function renderSeller(id, page) {
    app.textContent = "";
    getJSON("/api/v1/sellers/" + encodeURIComponent(id)).then(function (res) {
      if (res.status !== 200) { app.appendChild(el("h1", { class: "error" }, "Store not found")); return; }
      var s = res.body;
      var box = el("div", { class: "store-info", "data-seller-id": s.id });
      box.appendChild(el("h1", { class: "store-name" }, s.name));
      if (s.filing_number) { box.appendChild(el("p", { class: "filing-number" }, "Filing No. " + s.filing_number)); }
      if (s.business_licence) { box.appendChild(el("p", { class: "licence-number" }, "Business licence " + s.business_licence)); }
      box.appendChild(el("p", { class: "phone" }, s.contact.phone));
      box.appendChild(el("p", { class: "wechat" }, s.contact.wechat));
      app.appendChild(box);
      var holder = el("div", {});
      app.appendChild(holder);
      var saved = app;
      app = holder;
      renderList("Items", "/api/v1/sellers/" + encodeURIComponent(id) + "/items", page);
      app = saved;
    });
  }
  function route() {
    var path = location.pathname;
    var page = parseInt(new URLSearchParams(location.search).get("page") || "1", 10) || 1;
    var m;
    if ((m = path.match(/^\/item\/([^/]+)$/))) { renderItem(decodeURIComponent(m[1])); }
    else if ((m = path.match(/^\/store\/([^/]+)$/))) { renderSeller(decodeURIComponent(m[1]), page); }
    else if ((m = path.match(/^\/c\/([^/]+)$/))) { renderList(m[1], "/api/v1/items?category=" + m[1], page); }
    else {
      getJSON("/api/v1/categories").then(function (res) {
        var nav = el("nav", { class: "categories" });
        res.body.forEach(function (c) { nav.appendChild(link("/c/" + c.slug, c.name + " ", "cat-link")); });
        document.body.insertBefore(nav, app);
      });
      renderList("All items", "/api/v1/items", page);
    }
  }
  document.addEventListener("click", function (ev) {
    var a = ev.target.closest ? ev.target.closest("a[data-link]") : null;
    if (a && a.origin === location.origin) {
      ev.preventDefault();
      history.pushState({}, "", a.getAttribute("href"));
      route();
    }
  });
  window.addEventListener("popstate", route);
  route();
})();
