/* ybt portal: search over the prebuilt index and, in the single-file portal, hash routing.
   No network access of any kind: everything it needs is already in the page. */
(function () {
  "use strict";
  var doc = document;
  var single = doc.documentElement.getAttribute("data-mode") === "single";
  var INDEX = window.YBT_INDEX || [];
  var KIND_ZH = { field: "字段", report: "报表", ledger: "台账" };

  function norm(s) {
    return String(s || "").toLowerCase().replace(/[\s\u3000]+/g, "");
  }

  // Precompute lower-case names once: [url, kind, title, id, names, initials, note, weight, key].
  var rows = INDEX.map(function (e) {
    return { e: e, names: e[4].map(norm), ini: e[5], id: norm(e[3]) };
  });

  function score(row, q, ascii) {
    var best = 0, i, n;
    for (i = 0; i < row.names.length; i++) {
      n = row.names[i];
      if (n === q) best = Math.max(best, 100);
      else if (n.indexOf(q) === 0) best = Math.max(best, 80);
      else if (n.indexOf(q) > 0) best = Math.max(best, 60);
    }
    if (row.id === q) best = Math.max(best, 95);
    else if (row.id.indexOf(q) >= 0) best = Math.max(best, 50);
    if (ascii) {
      for (i = 0; i < row.ini.length; i++) {
        n = row.ini[i];
        if (n === q) best = Math.max(best, 90);
        else if (n.indexOf(q) === 0) best = Math.max(best, 70);
        else if (q.length >= 2 && n.indexOf(q) > 0) best = Math.max(best, 40);
      }
    }
    return best ? best + row.e[7] / 10 : 0;
  }

  function search(query, limit) {
    var q = norm(query);
    if (!q) return [];
    var ascii = /^[a-z0-9]+$/.test(q);
    var hits = [];
    for (var i = 0; i < rows.length; i++) {
      var s = score(rows[i], q, ascii);
      if (s > 0) hits.push([s, rows[i].e]);
    }
    hits.sort(function (a, b) { return b[0] - a[0] || (a[1][2] < b[1][2] ? -1 : a[1][2] > b[1][2] ? 1 : 0); });
    return hits.slice(0, limit || 30).map(function (h) { return h[1]; });
  }
  window.ybtSearch = search;

  var input = doc.getElementById("q");
  var list = doc.getElementById("q-results");
  var status = doc.getElementById("q-status");

  function closeResults() {
    if (!list) return;
    list.hidden = true;
  }

  function show(query) {
    var hits = search(query, 30);
    list.replaceChildren();
    if (!norm(query)) { closeResults(); status.textContent = ""; return; }
    if (!hits.length) {
      var li = doc.createElement("li");
      li.className = "empty";
      li.textContent = "没有找到 “" + query + "”。Nothing found.";
      list.appendChild(li);
    }
    hits.forEach(function (e) {
      var li = doc.createElement("li");
      var a = doc.createElement("a");
      a.href = e[0];
      a.setAttribute("data-key", e[8]);
      var kind = doc.createElement("span");
      kind.className = "kind " + e[1];
      kind.textContent = KIND_ZH[e[1]] || e[1];
      var title = doc.createElement("span");
      title.className = "title";
      title.textContent = e[2];
      var meta = doc.createElement("span");
      meta.className = "meta";
      meta.textContent = e[3] + (e[6] ? " · " + e[6] : "") + (e[4].length > 1 ? " · " + e[4].slice(1, 6).join("、") : "");
      a.appendChild(kind); a.appendChild(title); a.appendChild(meta);
      li.appendChild(a);
      list.appendChild(li);
    });
    list.hidden = false;
    status.textContent = "找到 " + hits.length + " 项 / " + hits.length + " results";
  }

  if (input && list) {
    var form = input.form;
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var first = list.querySelector("a");
      if (first) first.click();
    });
    input.addEventListener("input", function () { show(input.value); });
    input.addEventListener("focus", function () { if (input.value) show(input.value); });
    input.addEventListener("keydown", function (ev) {
      if (ev.key === "ArrowDown") { var a = list.querySelector("a"); if (a) { ev.preventDefault(); a.focus(); } }
      else if (ev.key === "Escape") { closeResults(); }
    });
    list.addEventListener("keydown", function (ev) {
      var links = Array.prototype.slice.call(list.querySelectorAll("a"));
      var i = links.indexOf(doc.activeElement);
      if (ev.key === "ArrowDown" && i < links.length - 1) { ev.preventDefault(); links[i + 1].focus(); }
      else if (ev.key === "ArrowUp") { ev.preventDefault(); if (i > 0) links[i - 1].focus(); else input.focus(); }
      else if (ev.key === "Escape") { closeResults(); input.focus(); }
    });
    list.addEventListener("click", function (ev) { if (ev.target.closest("a")) closeResults(); });
    doc.addEventListener("click", function (ev) { if (!form.contains(ev.target)) closeResults(); });
    doc.addEventListener("keydown", function (ev) {
      var t = ev.target;
      var typing = t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.isContentEditable);
      if (ev.key === "/" && !typing) { ev.preventDefault(); input.focus(); input.select(); }
    });
  }

  // ---- the catalog's filter: hides the rows the search does not match ----------------------
  doc.addEventListener("input", function (ev) {
    var box = ev.target;
    if (!box || box.id !== "catalog-filter") return;
    var table = doc.querySelector("table.catalog");
    if (!table) return;
    var q = norm(box.value);
    var keep = null;
    if (q) {
      keep = {};
      search(q, 100000).forEach(function (e) { keep[e[8]] = true; });
    }
    var shown = 0, groups = {};
    table.querySelectorAll("tbody tr[data-key]").forEach(function (tr) {
      var on = !keep || keep[tr.getAttribute("data-key")] === true;
      tr.hidden = !on;
      if (on) { shown++; groups[tr.getAttribute("data-group")] = true; }
    });
    table.querySelectorAll("tbody tr.group").forEach(function (tr) { tr.hidden = !groups[tr.getAttribute("data-group")]; });
    var count = doc.getElementById("catalog-count");
    if (count) count.textContent = q ? "显示 " + shown + " 个字段 / " + shown + " fields shown" : "";
  });

  // ---- single-file routing: #/key or #/key:L12 ----------------------------------------------
  if (!single) return;
  var main = doc.getElementById("main");
  var siteTitle = doc.title;

  function route(initial) {
    var h = location.hash;
    var raw = "index";
    if (h && h.indexOf("#/") === 0) raw = decodeURIComponent(h.slice(2)) || "index";
    else if (h && h !== "#") return;  // an in-page anchor such as #main
    var anchor = null;
    var m = raw.match(/^(.*):(L\d+)$/);
    if (m) { raw = m[1]; anchor = m[2]; }
    var tpl = doc.getElementById("page:" + raw);
    if (!tpl) {
      var p = doc.createElement("p");
      p.className = "note";
      p.textContent = "没有这个页面：" + raw + "。No such page.";
      main.replaceChildren(p);
      doc.title = siteTitle;
      return;
    }
    main.replaceChildren(tpl.content.cloneNode(true));
    var section = tpl.getAttribute("data-section");
    doc.title = tpl.getAttribute("data-title") + (raw === "index" ? "" : " · " + siteTitle);
    doc.querySelectorAll(".site-header nav a").forEach(function (a) {
      if (a.getAttribute("data-section") === section) a.setAttribute("aria-current", "page");
      else a.removeAttribute("aria-current");
    });
    closeResults();
    if (anchor) {
      var el = doc.getElementById(anchor);
      if (el) { el.classList.add("hl"); el.scrollIntoView({ block: "center" }); }
    } else {
      window.scrollTo(0, 0);
    }
    if (!initial) main.focus({ preventScroll: true });
  }

  doc.querySelector(".skip-link").addEventListener("click", function (ev) {
    ev.preventDefault();
    main.focus();
  });
  window.addEventListener("hashchange", function () { route(false); });
  route(true);
})();
