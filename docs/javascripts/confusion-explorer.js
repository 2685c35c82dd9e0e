/* Confusion-matrix explorer: hover, tap or focus a cell to see its test images,
 * most confident first. A toggle shows counts or each cell's most confident image.
 *
 * Each .li-explorer element names its JSON (data-src, written by the build from
 * the same cached results as the static figure inside it). The static figure
 * stays until the data has loaded; without JavaScript it is all the reader gets.
 * Data loads when the explorer comes near the viewport (150 px away), so a page
 * with two explorers only fetches the second one's images if the reader scrolls there.
 */
(function () {
  "use strict";

  var el = window.LiDom.el;

  function pct(p) {
    return (100 * p).toFixed(1) + "%";
  }

  function Explorer(root, data, sprite) {
    this.root = root;
    this.data = data;
    this.sprite = sprite;
    this.n = data.classes.length;
    this.mode = "counts";
    this.pinned = data.largest[0] * this.n + data.largest[1];
    this.build();
    this.show(this.pinned);
  }

  Explorer.prototype.tile = function (canvas, t) {
    var s = this.data.sprite, size = s.tile;
    canvas.width = size;
    canvas.height = size;
    canvas.getContext("2d").drawImage(this.sprite, (t % s.columns) * size,
      Math.floor(t / s.columns) * size, size, size, 0, 0, size, size);
  };

  Explorer.prototype.label = function (a, p) {
    var d = this.data, count = d.counts[a][p];
    return "实际 " + d.classes[a] + "，预测 " + d.classes[p] + "：" + count + " 张"
      + (a === p ? "（认对）" : "（认错）");
  };

  Explorer.prototype.build = function () {
    var self = this, d = this.data, n = this.n;
    var counts = el("button", { type: "button", "aria-pressed": "true", text: "数量" });
    var samples = el("button", { type: "button", "aria-pressed": "false", text: "最有把握的样本" });
    [counts, samples].forEach(function (b, k) {
      b.addEventListener("click", function () { self.setMode(k ? "samples" : "counts"); });
    });
    this.toggles = { counts: counts, samples: samples };
    var toolbar = el("div", { class: "li-ex-toolbar", role: "group", "aria-label": "格子里显示" },
      [el("span", { text: "格子里显示：" }), counts, samples]);

    // Errors are shaded by their share of the row, relative to the worst error,
    // exactly as the static figure does.
    var worst = 1e-9;
    var rowTotal = d.counts.map(function (r) { return Math.max(1, r.reduce(function (a, b) { return a + b; }, 0)); });
    d.counts.forEach(function (r, a) {
      r.forEach(function (c, p) { if (a !== p) worst = Math.max(worst, c / rowTotal[a]); });
    });

    var matrix = el("div", { class: "li-ex-matrix", style: "--li-n:" + n });
    matrix.appendChild(el("span", { class: "li-ex-corner", "aria-hidden": "true", text: "实际＼预测" }));
    d.classes.forEach(function (c) {
      matrix.appendChild(el("span", { class: "li-ex-head", "aria-hidden": "true", text: c }));
    });
    this.cells = [];
    for (var a = 0; a < n; a++) {
      matrix.appendChild(el("span", { class: "li-ex-head li-ex-rowhead", "aria-hidden": "true",
        text: d.classes[a] }));
      for (var p = 0; p < n; p++) {
        var k = a * n + p, count = d.counts[a][p], share = count / rowTotal[a];
        var cell = el("button", {
          type: "button", class: "li-ex-cell" + (a === p ? " li-ex-diag" : ""),
          "aria-label": this.label(a, p), tabindex: k === this.pinned ? "0" : "-1",
          "data-actual": String(a), "data-predicted": String(p), "data-count": String(count)
        });
        var mix = a === p ? 25 + 65 * share : (count ? 75 * share / worst : 0);
        cell.style.setProperty("--li-mix", mix.toFixed(1) + "%");
        if (!count) cell.classList.add("li-ex-empty");
        var num = el("span", { class: "li-ex-count", text: String(count) });
        var pic = el("canvas", { class: "li-ex-pic", "aria-hidden": "true" });
        if (count) this.tile(pic, d.cells[k].start);
        cell.appendChild(num);
        cell.appendChild(pic);
        this.bindCell(cell, k);
        matrix.appendChild(cell);
        this.cells.push(cell);
      }
    }
    matrix.addEventListener("pointerleave", function () { self.show(self.pinned); });

    this.title = el("p", { class: "li-ex-title" });
    this.summary = el("p", { class: "li-ex-summary" });
    // A scroll box: focusable, so the keyboard can scroll it too.
    this.thumbs = el("div", { class: "li-ex-thumbs", role: "list", tabindex: "0",
      "aria-label": "这个格子里的测试图" });
    // Only the heading and the count are announced: 40 thumbnails per hover would
    // drown a screen reader.
    var panel = el("div", { class: "li-ex-panel" }, [
      el("div", { "aria-live": "polite" }, [this.title, this.summary]), this.thumbs]);
    var caption = el("p", { class: "li-ex-help", text: "行是实际的类别，列是网络预测的类别。"
      + "把鼠标移到格子上、点一下格子，或者用 Tab 和方向键选中格子，右边（手机上是下面）"
      + "就会列出落在这个格子里的测试图，网络最有把握的排在最前面。" });
    this.root.appendChild(el("div", { class: "li-ex-ui" }, [
      toolbar, caption, el("div", { class: "li-ex-body" }, [matrix, panel])
    ]));
    this.matrix = matrix;
  };

  Explorer.prototype.bindCell = function (cell, k) {
    var self = this, n = this.n;
    cell.addEventListener("pointerenter", function (e) {
      if (e.pointerType === "mouse") self.show(k);
    });
    cell.addEventListener("click", function () { self.pin(k); });
    cell.addEventListener("focus", function () { self.pin(k); });
    cell.addEventListener("keydown", function (e) {
      var a = Math.floor(k / n), p = k % n;
      var to = {
        ArrowUp: [a - 1, p], ArrowDown: [a + 1, p], ArrowLeft: [a, p - 1], ArrowRight: [a, p + 1],
        Home: [a, 0], End: [a, n - 1]
      }[e.key];
      if (!to) return;
      e.preventDefault();
      var r = Math.min(n - 1, Math.max(0, to[0])), c = Math.min(n - 1, Math.max(0, to[1]));
      self.cells[r * n + c].focus();
    });
  };

  Explorer.prototype.pin = function (k) {
    this.cells[this.pinned].setAttribute("tabindex", "-1");
    this.cells[this.pinned].classList.remove("li-ex-pinned");
    this.pinned = k;
    this.cells[k].setAttribute("tabindex", "0");
    this.show(k);
  };

  Explorer.prototype.setMode = function (mode) {
    this.mode = mode;
    this.toggles.counts.setAttribute("aria-pressed", String(mode === "counts"));
    this.toggles.samples.setAttribute("aria-pressed", String(mode === "samples"));
    this.matrix.classList.toggle("li-ex-show-samples", mode === "samples");
  };

  /* Fill the panel with cell k's images (the same order as the build's cell_members). */
  Explorer.prototype.show = function (k) {
    var d = this.data, n = this.n, a = Math.floor(k / n), p = k % n;
    var cell = d.cells[k], count = d.counts[a][p], shown = cell.index.length;
    this.cells.forEach(function (c, i) { c.classList.toggle("li-ex-current", i === k); });
    this.cells[this.pinned].classList.add("li-ex-pinned");
    this.root.setAttribute("data-cell", a + "," + p);
    this.title.textContent = "实际 " + d.classes[a] + " → 预测 " + d.classes[p]
      + (a === p ? "（认对）" : "（认错）");
    if (!count) {
      this.summary.textContent = "这个格子是空的：测试集里没有一张" + d.classes[a] + "被认成"
        + d.classes[p] + "。";
    } else if (shown < count) {
      this.summary.textContent = "显示前 " + shown + " 张，共 " + count + " 张，按网络的把握从高到低排列。";
    } else {
      this.summary.textContent = "共 " + count + " 张，全部显示，按网络的把握从高到低排列。";
    }
    this.thumbs.textContent = "";
    for (var j = 0; j < shown; j++) {
      var c = el("canvas", { "aria-hidden": "true" });
      this.tile(c, cell.start + j);
      var conf = pct(cell.conf[j]);
      this.thumbs.appendChild(el("div", {
        class: "li-thumb", role: "listitem", "data-index": String(cell.index[j]),
        title: "测试图 #" + cell.index[j] + "：网络以 " + conf + " 的把握认成 " + d.classes[p],
        "aria-label": "测试图 " + cell.index[j] + "，把握 " + conf
      }, [c, el("span", { text: conf })]));
    }
  };

  function fetchJSON(url) {
    return fetch(url).then(function (r) {
      if (!r.ok) throw new Error(url + ": HTTP " + r.status);
      return r.json();
    });
  }

  function loadImage(url) {
    var img = new Image();
    img.src = url;
    return img.decode().then(function () { return img; });
  }

  function start(root) {
    if (root.getAttribute("data-state")) return;
    root.setAttribute("data-state", "loading");
    var url = new URL(root.getAttribute("data-src"), document.baseURI);
    fetchJSON(url).then(function (data) {
      return loadImage(new URL(data.sprite.file, url)).then(function (img) {
        new Explorer(root, data, img);
        root.querySelectorAll(".li-fallback").forEach(function (f) { f.hidden = true; });
        root.setAttribute("data-state", "ready");
      });
    }).catch(function (err) {
      root.setAttribute("data-state", "failed");
      root.insertBefore(el("p", { class: "li-load-error",
        text: "互动版本没能加载（" + err.message + "），下面是静态图。" }), root.firstChild);
    });
  }

  function init() {
    var roots = document.querySelectorAll(".li-explorer");
    if (!("IntersectionObserver" in window)) { roots.forEach(start); return; }
    var io = new IntersectionObserver(function (entries) {
      entries.forEach(function (e) {
        if (e.isIntersecting) { io.unobserve(e.target); start(e.target); }
      });
    }, { rootMargin: "150px 0px" }); // not sooner: a phone's first load stays under 1 MB
    roots.forEach(function (r) { io.observe(r); });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
