/* 训练场: replay the build's own training from its snapshots, then train the same
 * networks in the browser (train-worker.js) and watch them learn.
 *
 * The main thread only draws: each worker update is kept and drawn on the next
 * animation frame, so however fast the worker posts, the page draws at most once
 * a frame and never waits on training.
 */
/* global LiDom, LiDigits, LiTrain */
(function () {
  "use strict";

  var el = LiDom.el;
  var SIZE = 28, PAD = 280, PEN = 22, DRAW_MS = 48, ANNOUNCE_MS = 5000;
  var PAD_HINT = "在方框里写一个数字。还没训练的网络也会猜，只是多半猜错。";

  /* What a reader may set, and the range each value is kept in. */
  var HIDDEN = [0, 10, 30];
  var RANGES = {
    lr: { min: 1e-4, max: 0.1, label: "学习率" },
    wd: { min: 0, max: 0.1, label: "权重衰减" },
    batch: { min: 8, max: 512, label: "批大小", integer: true },
    seed: { min: 0, max: 999999, label: "随机种子", integer: true }
  };
  // The site's own mnist-1layer recipe (config.py): the article's network.
  var DEFAULTS = { hidden: 0, lr: 0.001, wd: 0.01, batch: 128, seed: 0 };
  var KEYS = { hidden: "h", lr: "lr", wd: "wd", batch: "b", seed: "seed" };

  function colour(name, fallback) {
    var v = getComputedStyle(document.body).getPropertyValue(name).trim();
    return v || fallback;
  }

  function fmt(x) {
    return String(Number(x.toPrecision(3)));
  }

  /* ---- settings <-> URL hash ------------------------------------------------------ */

  /* Parse "#h=10&lr=0.003…"; returns {settings, notes}: every value present, those
   * out of range clamped, and a note for each one that was changed. */
  function parseHash(hash) {
    var s = {}, notes = [], params = {};
    hash.replace(/^#/, "").split("&").forEach(function (kv) {
      var i = kv.indexOf("=");
      if (i <= 0) return;
      try {
        params[decodeURIComponent(kv.slice(0, i))] = decodeURIComponent(kv.slice(i + 1));
      } catch (e) { // a malformed escape ("%" alone): that setting keeps its default
        notes.push("网址中的“" + kv.slice(0, 40) + "”无法解读，已忽略");
      }
    });
    Object.keys(DEFAULTS).forEach(function (name) {
      var raw = params[KEYS[name]];
      var value = DEFAULTS[name];
      if (raw !== undefined) {
        var x = Number(raw);
        if (!isFinite(x) || raw.trim() === "") {
          notes.push(label(name) + "=" + raw + " 不是数字，已用默认值 " + value);
        } else if (name === "hidden") {
          value = HIDDEN.reduce(function (a, b) { return Math.abs(b - x) < Math.abs(a - x) ? b : a; });
          if (value !== x) notes.push("隐藏神经元=" + raw + " 不可选，已改为 " + value);
        } else {
          var r = RANGES[name];
          value = Math.min(r.max, Math.max(r.min, r.integer ? Math.round(x) : x));
          if (value !== x) notes.push(r.label + "=" + raw + " 超出范围，已改为 " + value);
        }
      }
      s[name] = value;
    });
    return { settings: s, notes: notes };
  }

  function label(name) {
    return name === "hidden" ? "隐藏神经元" : RANGES[name].label;
  }

  function toHash(s) {
    return "#" + Object.keys(DEFAULTS).map(function (n) { return KEYS[n] + "=" + s[n]; }).join("&");
  }

  /* ---- drawing ---------------------------------------------------------------------- */

  /* A 784-vector into a 28x28 canvas, scaled to its own range (lowest black). */
  function paintWeights(canvas, w, offset) {
    var ctx = canvas.getContext("2d"), img = ctx.createImageData(SIZE, SIZE);
    var lo = Infinity, hi = -Infinity, i;
    for (i = 0; i < 784; i++) {
      var v = w[offset + i];
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    var span = hi > lo ? hi - lo : 1;
    for (i = 0; i < 784; i++) {
      var g = Math.round(255 * (w[offset + i] - lo) / span);
      img.data[4 * i] = img.data[4 * i + 1] = img.data[4 * i + 2] = g;
      img.data[4 * i + 3] = 255;
    }
    ctx.putImageData(img, 0, 0);
  }

  function paintGrey(canvas, bytes, offset, invert) {
    var ctx = canvas.getContext("2d"), img = ctx.createImageData(SIZE, SIZE);
    for (var i = 0; i < 784; i++) {
      var g = bytes[offset + i];
      if (invert) g = 255 - g;
      img.data[4 * i] = img.data[4 * i + 1] = img.data[4 * i + 2] = g;
      img.data[4 * i + 3] = 255;
    }
    ctx.putImageData(img, 0, 0);
  }

  /* Canvas boxes, measured once per layout change: reading a box forces the browser
   * to lay out the page, which while training would cost every frame. */
  var boxes = new WeakMap(), layoutEpoch = 0;
  window.addEventListener("resize", function () { layoutEpoch += 1; });

  function box(canvas) {
    var b = boxes.get(canvas);
    if (!b || b.epoch !== layoutEpoch || !b.width) {
      var r = canvas.getBoundingClientRect();
      b = { epoch: layoutEpoch, width: r.width, height: r.height };
      boxes.set(canvas, b);
    }
    return b;
  }

  /* A canvas sized to its box on screen, at the device's pixel ratio. */
  function fit(canvas) {
    var r = box(canvas), dpr = window.devicePixelRatio || 1;
    var w = Math.max(1, Math.round(r.width * dpr)), h = Math.max(1, Math.round(r.height * dpr));
    if (canvas.width !== w || canvas.height !== h) {
      canvas.width = w;
      canvas.height = h;
    }
    var ctx = canvas.getContext("2d");
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, r.width, r.height);
    return { ctx: ctx, w: r.width, h: r.height };
  }

  /* Lines over steps: series = [{points: [[step, value]], colour, label}]. */
  function plot(canvas, series, opts) {
    var c = fit(canvas), ctx = c.ctx, fg = colour("--md-default-fg-color", "#333");
    var muted = colour("--md-default-fg-color--light", "#888");
    var left = 34, right = 8, top = 20, bottom = 18; // top: room for the title above the highest grid line
    var W = c.w - left - right, H = c.h - top - bottom;
    var xmax = opts.xmax || 1, ymin = opts.ymin, ymax = opts.ymax;
    var logx = !!opts.logx;
    function X(s) {
      if (logx) return left + W * Math.log(1 + s) / Math.log(1 + xmax);
      return left + W * s / xmax;
    }
    function Y(v) { return top + H * (1 - (v - ymin) / (ymax - ymin)); }
    ctx.font = "11px sans-serif";
    ctx.fillStyle = muted;
    ctx.strokeStyle = muted;
    ctx.lineWidth = 0.5;
    ctx.textAlign = "right";
    ctx.textBaseline = "middle";
    (opts.yticks || []).forEach(function (t) {
      ctx.beginPath();
      ctx.moveTo(left, Y(t[0]));
      ctx.lineTo(left + W, Y(t[0]));
      ctx.stroke();
      ctx.fillText(t[1], left - 3, Y(t[0]));
    });
    ctx.textAlign = "left";
    ctx.textBaseline = "top";
    ctx.fillStyle = fg;
    ctx.fillText(opts.title, left, 1);
    ctx.textAlign = "right";
    ctx.fillStyle = muted;
    ctx.fillText(opts.xlabel, left + W, top + H + 4);
    series.forEach(function (s) {
      ctx.strokeStyle = s.colour;
      ctx.fillStyle = s.colour;
      ctx.lineWidth = 1.6;
      ctx.beginPath();
      s.points.forEach(function (p, i) {
        var v = Math.min(ymax, Math.max(ymin, p[1]));
        if (i) ctx.lineTo(X(p[0]), Y(v));
        else ctx.moveTo(X(p[0]), Y(v));
      });
      ctx.stroke();
      if (s.dots) {
        s.points.forEach(function (p) {
          ctx.beginPath();
          ctx.arc(X(p[0]), Y(p[1]), 2.5, 0, 2 * Math.PI);
          ctx.fill();
        });
      }
    });
    if (opts.hint && !series.some(function (s) { return s.points.length; })) {
      // On the page's background, so that a grid line never strikes it through.
      var tw = ctx.measureText(opts.hint).width;
      ctx.fillStyle = colour("--md-default-bg-color", "#fff");
      ctx.fillRect(left + W / 2 - tw / 2 - 4, top + H / 2 - 8, tw + 8, 16);
      ctx.fillStyle = muted;
      ctx.textAlign = "center";
      ctx.textBaseline = "middle";
      ctx.fillText(opts.hint, left + W / 2, top + H / 2);
    }
    if (opts.marker !== undefined) {
      ctx.strokeStyle = colour("--md-accent-fg-color", "#f50");
      ctx.lineWidth = 1.5;
      ctx.beginPath();
      ctx.moveTo(X(opts.marker), top);
      ctx.lineTo(X(opts.marker), top + H);
      ctx.stroke();
    }
  }

  /* Per-class bars: rows of hidden-unit weights from the output layer (10 x H). */
  function bars(canvas, w, H) {
    var c = fit(canvas), ctx = c.ctx, pos = colour("--li-pos-bar", "#b2182b");
    var neg = colour("--li-neg-bar", "#2166ac"), muted = colour("--md-default-fg-color--light", "#888");
    var max = 0, i;
    for (i = 0; i < w.length; i++) max = Math.max(max, Math.abs(w[i]));
    max = max || 1;
    var rowH = c.h / 10, left = 14, colW = (c.w - left) / H;
    ctx.font = "10px sans-serif";
    ctx.textBaseline = "middle";
    for (var k = 0; k < 10; k++) {
      var mid = k * rowH + rowH / 2;
      ctx.fillStyle = muted;
      ctx.fillText(String(k), 2, mid);
      ctx.fillRect(left, mid, c.w - left, 0.5);
      for (var j = 0; j < H; j++) {
        var v = w[k * H + j], len = (rowH / 2 - 1) * v / max;
        ctx.fillStyle = v >= 0 ? pos : neg;
        ctx.fillRect(left + j * colW + colW * 0.2, v >= 0 ? mid - len : mid, colW * 0.6, Math.abs(len));
      }
    }
  }

  /* counts: 100 (rows actual, columns predicted), or null for the empty grid and
   * `hint` shown before the first evaluation. */
  function confusionPlot(canvas, counts, hint) {
    var c = fit(canvas), ctx = c.ctx, fg = colour("--md-default-fg-color", "#333");
    var good = colour("--li-correct", "#2e9e4f"), bad = colour("--li-error", "#d9480f");
    var muted = colour("--md-default-fg-color--light", "#888");
    var head = 14, cell = Math.min((c.w - head) / 10, (c.h - head) / 10);
    var rows = [], a, p;
    for (a = 0; a < 10; a++) {
      var t = 0;
      for (p = 0; p < 10 && counts; p++) t += counts[a * 10 + p];
      rows.push(t || 1);
    }
    if (!counts) {
      ctx.fillStyle = colour("--li-empty", "#f1f3f5");
      for (a = 0; a < 10; a++) {
        for (p = 0; p < 10; p++) ctx.fillRect(head + p * cell + 1, head + a * cell + 1, cell - 2, cell - 2);
      }
    }
    ctx.font = "10px sans-serif";
    ctx.textAlign = "center";
    ctx.textBaseline = "middle";
    for (a = 0; a < 10; a++) {
      ctx.fillStyle = muted;
      ctx.fillText(String(a), head / 2, head + a * cell + cell / 2);
      ctx.fillText(String(a), head + a * cell + cell / 2, head / 2);
      for (p = 0; p < 10 && counts; p++) {
        var n = counts[a * 10 + p], share = n / rows[a];
        ctx.globalAlpha = a === p ? 0.2 + 0.8 * share : Math.min(1, 4 * share);
        ctx.fillStyle = a === p ? good : bad;
        if (n) ctx.fillRect(head + p * cell + 1, head + a * cell + 1, cell - 2, cell - 2);
        ctx.globalAlpha = 1;
        if (n && cell >= 16) {
          ctx.fillStyle = fg;
          ctx.fillText(String(n), head + p * cell + cell / 2, head + a * cell + cell / 2);
        }
      }
    }
    if (!counts && hint) {
      ctx.fillStyle = fg;
      ctx.font = "12px sans-serif";
      ctx.fillText(hint, head + 5 * cell, head + 5 * cell);
    }
  }

  function tiles(parent, n, cls) {
    var out = [];
    for (var i = 0; i < n; i++) {
      var c = el("canvas", { width: SIZE, height: SIZE, class: cls || "li-tr-tile", role: "img",
        "aria-label": (n > 10 ? "隐藏神经元 " : "神经元 ") + i + " 的权重图" });
      var fig = el("div", { class: "li-tr-cell" }, [c, el("span", { text: String(i) })]);
      parent.appendChild(fig);
      out.push(c);
    }
    return out;
  }

  /* ---- replay ---------------------------------------------------------------------- */

  function Replay(root, doc) {
    this.root = root;
    this.doc = doc;
    this.which = "mnist-1layer";
    this.index = 0;
    this.timer = null;
    var self = this;
    this.decoded = {};
    Object.keys(doc).forEach(function (k) {
      var bin = atob(doc[k].first), bytes = new Uint8Array(bin.length);
      for (var i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
      self.decoded[k] = bytes;
    });
    var toolbar = el("div", { class: "li-ex-toolbar", role: "group", "aria-label": "回放哪个网络" });
    this.choice = {};
    [["mnist-1layer", "单层网络"], ["mnist-2layer", "10 个隐藏神经元"]].forEach(function (c) {
      var b = el("button", { type: "button", text: c[1], "aria-pressed": String(c[0] === self.which),
        "data-net": c[0] });
      b.addEventListener("click", function () { self.choose(c[0]); });
      toolbar.appendChild(b);
      self.choice[c[0]] = b;
    });
    this.grid = el("div", { class: "li-tr-grid" });
    this.tiles = tiles(this.grid, 10);
    this.barCanvas = el("canvas", { class: "li-tr-bars", role: "img",
      "aria-label": "每个数字的输出神经元从各隐藏神经元得到的权重" });
    this.play = el("button", { type: "button", class: "li-tr-play", text: "▶ 播放" });
    this.slider = el("input", { type: "range", min: "0", value: "0", class: "li-tr-slider",
      "aria-label": "训练到第几个快照" });
    this.caption = el("p", { class: "li-tr-caption", "aria-live": "polite" });
    this.curve = el("canvas", { class: "li-tr-curve", role: "img", "aria-label": "测试准确率随训练步数的变化" });
    var controls = el("div", { class: "li-tr-controls" }, [this.play, this.slider]);
    root.appendChild(toolbar);
    root.appendChild(el("div", { class: "li-tr-row" }, [
      el("div", { class: "li-tr-weights" }, [this.grid, this.barCanvas]),
      el("div", { class: "li-tr-side" }, [this.curve])
    ]));
    root.appendChild(controls);
    root.appendChild(this.caption);
    this.slider.addEventListener("input", function () {
      self.stop();
      self.show(Number(self.slider.value));
    });
    this.play.addEventListener("click", function () {
      if (self.timer) self.stop();
      else self.start();
    });
    // At rest, the finished network; "play" starts from the initialisation.
    this.index = doc[this.which].steps.length - 1;
    this.choose(this.which);
  }

  Replay.prototype.entry = function () { return this.doc[this.which]; };

  Replay.prototype.choose = function (which) {
    this.which = which;
    for (var k in this.choice) this.choice[k].setAttribute("aria-pressed", String(k === which));
    var e = this.entry();
    this.slider.max = String(e.steps.length - 1);
    this.barCanvas.hidden = !e.hidden.length;
    layoutEpoch += 1;
    this.root.dataset.net = which;
    this.show(Math.min(this.index, e.steps.length - 1));
  };

  Replay.prototype.show = function (i) {
    var e = this.entry(), bytes = this.decoded[this.which];
    this.index = i;
    this.slider.value = String(i);
    var units = e.hidden.length ? e.hidden[0] : 10;
    for (var u = 0; u < Math.min(units, 10); u++) paintGrey(this.tiles[u], bytes, (i * units + u) * 784, false);
    var step = e.steps[i];
    this.caption.textContent = (step === 0 ? "初始化" : "第 " + step.toLocaleString("en-US") + " 步") +
      "（共 " + e.steps[e.steps.length - 1].toLocaleString("en-US") + " 步）：测试准确率 " +
      (100 * e.accuracy[i]).toFixed(1) + "%";
    this.root.dataset.index = String(i);
    if (e.hidden.length) {
      var out = e.output[i], flat = [];
      out.forEach(function (row) { flat.push.apply(flat, row); });
      bars(this.barCanvas, flat, e.hidden[0]);
    }
    var pts = e.steps.map(function (s, k) { return [s, e.accuracy[k]]; });
    var epochs = e.epoch_steps.map(function (s, k) { return [s, e.epoch_accuracy[k]]; });
    var all = pts.concat(epochs).sort(function (a, b) { return a[0] - b[0]; });
    plot(this.curve, [{ points: all, colour: colour("--md-primary-fg-color", "#3f51b5") },
      { points: pts, colour: colour("--md-primary-fg-color", "#3f51b5"), dots: true }], {
      title: "测试准确率", xlabel: "训练步数（对数刻度）", xmax: e.steps[e.steps.length - 1],
      ymin: 0, ymax: 1, logx: true, marker: step,
      yticks: [[0, "0%"], [0.5, "50%"], [1, "100%"]]
    });
  };

  Replay.prototype.start = function () {
    var self = this, e = this.entry();
    if (this.index >= e.steps.length - 1) this.show(0);
    this.play.textContent = "❚❚ 暂停";
    this.root.dataset.playing = "true";
    this.timer = setInterval(function () {
      if (self.index >= self.entry().steps.length - 1) self.stop();
      else self.show(self.index + 1);
    }, 700);
  };

  Replay.prototype.stop = function () {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.play.textContent = "▶ 播放";
    this.root.dataset.playing = "false";
  };

  /* ---- training in the browser ------------------------------------------------------- */

  function Live(root) {
    var self = this;
    this.root = root;
    this.sampleUrl = root.dataset.sample;
    var parsed = parseHash(location.hash);
    this.settings = parsed.settings;
    this.worker = null;
    this.state = "idle"; // idle -> loading -> ready (paused) / running; or error
    this.latest = null;
    this.history = { loss: [], acc: [] };
    this.confusion = null;
    this.test = null; // {images, labels} once the sample is in
    this.testIndex = 0;
    this.input = null; // Float64Array(784) the prediction is for
    this.dirty = false;
    this.draws = 0;
    this.waiters = [];

    var form = el("div", { class: "li-tr-form" });
    this.fields = {};
    function field(name, control, text) {
      self.fields[name] = control;
      form.appendChild(el("label", { class: "li-tr-field" }, [el("span", { text: text }), control]));
      control.addEventListener("change", function () { self.readForm(); });
    }
    var hidden = el("select", { "data-setting": "hidden" });
    HIDDEN.forEach(function (h) {
      hidden.appendChild(el("option", { value: String(h), text: h ? h + " 个" : "0（单层）" }));
    });
    field("hidden", hidden, "隐藏神经元");
    ["lr", "wd", "batch", "seed"].forEach(function (n) {
      var r = RANGES[n];
      var input = el("input", { type: "number", min: String(r.min), max: String(r.max),
        step: r.integer ? "1" : "any", "data-setting": n, inputmode: "decimal" });
      field(n, input, r.label);
    });
    this.notes = el("p", { class: "li-tr-notes", "aria-live": "polite" });
    this.buttons = {};
    var bar = el("div", { class: "li-ex-toolbar li-tr-buttons" });
    [["start", "▶ 开始"], ["pause", "❚❚ 暂停"], ["step", "单步"], ["reset", "重置"]].forEach(function (b) {
      var btn = el("button", { type: "button", text: b[1], "data-action": b[0] });
      btn.addEventListener("click", function () { self[b[0]](); });
      bar.appendChild(btn);
      self.buttons[b[0]] = btn;
    });
    this.status = el("p", { class: "li-tr-status", "aria-live": "polite", text: "按“开始”下载训练样本（约 1 MB）并开始训练。" });

    // The curves' current values as text, for screen readers (the canvases are pictures):
    // announced when they change, at most every ANNOUNCE_MS while training runs.
    this.values = el("p", { class: "li-sr-only li-tr-values", "aria-live": "polite" });
    this.announced = -Infinity;
    this.weightsLabel = el("p", { class: "li-tr-label li-tr-wlabel" });
    this.grid = el("div", { class: "li-tr-grid" });
    this.barCanvas = el("canvas", { class: "li-tr-bars", role: "img", "aria-label": "每个数字的输出权重" });
    this.lossCanvas = el("canvas", { class: "li-tr-curve", role: "img", "aria-label": "训练损失" });
    this.accCanvas = el("canvas", { class: "li-tr-curve", role: "img", "aria-label": "测试准确率" });
    this.confCanvas = el("canvas", { class: "li-tr-confusion", role: "img",
      "aria-label": "留出测试样本上的混淆矩阵" });
    this.pad = el("canvas", { width: PAD, height: PAD, class: "li-tr-pad", "aria-label": "手写板：写一个数字" });
    this.seen = el("canvas", { width: SIZE, height: SIZE, class: "li-tr-seen", role: "img",
      "aria-label": "网络看到的 28×28 输入" });
    this.answer = el("p", { class: "li-tr-answer", "aria-live": "polite", text: PAD_HINT });
    this.probs = el("div", { class: "li-tr-probs" });
    var clear = el("button", { type: "button", text: "清空", class: "li-tr-clear" });
    var next = el("button", { type: "button", text: "换一张测试图像", class: "li-tr-next" });
    clear.addEventListener("click", function () { self.clearPad(); });
    next.addEventListener("click", function () { self.nextTest(); });

    root.appendChild(form);
    root.appendChild(this.notes);
    root.appendChild(bar);
    root.appendChild(this.status);
    root.appendChild(this.values);
    root.appendChild(el("div", { class: "li-tr-row" }, [
      el("div", { class: "li-tr-weights" }, [this.weightsLabel, this.grid, this.barCanvas]),
      el("div", { class: "li-tr-side" }, [this.lossCanvas, this.accCanvas])
    ]));
    root.appendChild(el("div", { class: "li-tr-row" }, [
      el("div", { class: "li-tr-conf" }, [el("p", { class: "li-tr-label", text: "混淆矩阵（行：实际，列：预测）" }), this.confCanvas]),
      el("div", { class: "li-tr-predict" }, [
        el("p", { class: "li-tr-label", text: "写一个数字，或换一张测试图像" }),
        el("div", { class: "li-tr-padrow" }, [this.pad, el("div", {}, [this.seen, clear, next])]),
        this.answer, this.probs])
    ]));
    this.writeForm();
    if (parsed.notes.length) this.notes.textContent = "已调整网址中的设置：" + parsed.notes.join("；") + "。";
    this.bindPad();
    this.showState();
    this.rest();
    window.addEventListener("hashchange", function () {
      var p = parseHash(location.hash);
      self.notes.textContent = p.notes.length ? "已调整网址中的设置：" + p.notes.join("；") + "。" : "";
      self.settings = p.settings;
      self.writeForm();
      if (self.state !== "idle" && self.state !== "error") self.reset();
      else self.rest();
    });
    window.addEventListener("resize", function () { self.dirty = true; });
    // Draw at most every DRAW_MS (20 a second, twice the 10 the page promises): the
    // drawing, not the training, is what the main thread spends its time on.
    var lastDraw = -Infinity;
    var loop = function (now) {
      if (self.dirty && now - lastDraw >= DRAW_MS) {
        lastDraw = now;
        self.draw();
      }
      requestAnimationFrame(loop);
    };
    requestAnimationFrame(loop);
  }

  Live.prototype.writeForm = function () {
    var s = this.settings;
    for (var n in this.fields) this.fields[n].value = String(s[n]);
    history.replaceState(null, "", toHash(s));
    this.root.dataset.hash = toHash(s);
  };

  Live.prototype.readForm = function () {
    var raw = {};
    for (var n in this.fields) raw[KEYS[n]] = this.fields[n].value;
    var p = parseHash("#" + Object.keys(raw).map(function (k) { return k + "=" + raw[k]; }).join("&"));
    // A "change" with nothing changed (a blur after the URL set the fields) must not
    // clear the notes: the layout would shift under the reader's pointer.
    if (toHash(p.settings) === toHash(this.settings) && !p.notes.length) return;
    this.settings = p.settings;
    this.notes.textContent = p.notes.length ? "已调整：" + p.notes.join("；") + "。" : "";
    this.writeForm();
    if (this.state !== "idle" && this.state !== "error" && this.state !== "loading") this.reset();
    else if (this.state !== "loading") this.rest();
  };

  /* Before the sample is in (or when it failed): the network these settings start
   * from, computed here from the seed, and empty axes that say what will appear. */
  Live.prototype.rest = function () {
    var s = this.settings;
    this.history = { loss: [], acc: [] };
    this.confusion = null;
    this.latest = { step: 0, epoch: 0, loss: null, trainMs: 0, rest: true,
      layers: LiTrain.initial(s.hidden, s.seed) };
    this.dirty = true;
  };

  Live.prototype.showState = function () {
    var s = this.state;
    this.root.dataset.train = s;
    this.buttons.start.disabled = s === "running" || s === "loading" || s === "error";
    this.buttons.pause.disabled = s !== "running";
    this.buttons.step.disabled = s === "running" || s === "loading" || s === "error";
    this.buttons.reset.disabled = s === "idle" || s === "loading" || s === "error";
    // A button that disables itself under the keyboard's focus would drop the focus to
    // the page's top: hand it to its counterpart (start <-> pause), else the next one.
    // While the sample loads every button is off: the status line holds the focus.
    var focused = document.activeElement, btns = this.buttons;
    if (focused && (focused === this.status
        || (focused.disabled && focused.getAttribute("data-action")))) {
      var order = s === "running" ? ["pause", "step", "reset"] : ["start", "step", "reset"];
      var to = order.map(function (k) { return btns[k]; }).filter(function (x) { return !x.disabled; })[0];
      if (to) to.focus();
      else {
        this.status.setAttribute("tabindex", "-1");
        this.status.focus();
      }
    }
  };

  /* The worker, and the sample, on first use only: a reader who only reads the replay
   * downloads neither. Resolves once the sample is in and a network is initialised. */
  Live.prototype.ensure = function () {
    var self = this;
    if (this.ready) return this.ready;
    this.state = "loading";
    this.status.textContent = "正在下载训练样本……";
    this.showState();
    this.ready = new Promise(function (resolve, reject) {
      var w = new Worker(self.root.dataset.worker);
      self.worker = w;
      w.onmessage = function (ev) {
        var m = ev.data;
        if (m.type === "loaded") {
          self.test = { images: m.testImages, labels: m.testLabels };
          self.status.textContent = "训练样本：" + m.nTrain.toLocaleString("en-US") + " 张训练图像，" +
            m.nTest.toLocaleString("en-US") + " 张留出的测试图像。";
          self.root.dataset.nTrain = String(m.nTrain);
          self.state = "paused";
          self.showState();
          self.post({ type: "reset", settings: self.settings });
          if (!self.input) self.nextTest();
          resolve();
        } else if (m.type === "error") {
          self.state = "error";
          self.showState();
          self.status.textContent = "";
          self.status.appendChild(el("span", { class: "li-load-error",
            text: "训练样本读取失败（" + m.message + "）。上面的回放不受影响；刷新页面可以再试一次。" }));
          reject(new Error(m.message));
        } else if (m.type === "update") {
          self.receive(m);
        } else if (m.type === "weights") {
          var waiters = self.waiters;
          self.waiters = [];
          waiters.forEach(function (f) { f(m); });
        }
      };
      w.onerror = function (e) {
        self.state = "error";
        self.showState();
        self.status.textContent = "训练程序出错：" + e.message;
        reject(e);
      };
      w.postMessage({ type: "load", url: new URL(self.sampleUrl, location.href).href });
    });
    this.ready.catch(function () {});
    return this.ready;
  };

  Live.prototype.post = function (m) { this.worker.postMessage(m); };

  Live.prototype.receive = function (m) {
    if (m.step === 0) this.history = { loss: [], acc: [] };
    if (m.loss !== null) {
      var loss = this.history.loss;
      loss.push([m.step, m.loss]);
      // At most ~500 points: halve by averaging neighbours, so drawing stays cheap
      // however long it trains.
      if (loss.length > 500) {
        var merged = [];
        for (var i = 0; i + 1 < loss.length; i += 2) {
          merged.push([loss[i + 1][0], (loss[i][1] + loss[i + 1][1]) / 2]);
        }
        if (loss.length % 2) merged.push(loss[loss.length - 1]);
        this.history.loss = merged;
      }
    }
    if (m.accuracy !== undefined) {
      this.history.acc.push([m.step, m.accuracy]);
      if (this.history.acc.length > 500) {
        this.history.acc = this.history.acc.filter(function (_, k) { return k % 2; });
      }
      this.confusion = m.confusion;
      this.root.dataset.accuracy = String(m.accuracy);
    }
    this.latest = m;
    this.root.dataset.step = String(m.step);
    this.root.dataset.trainMs = String(Math.round(m.trainMs));
    this.dirty = true;
  };

  Live.prototype.start = function () {
    var self = this;
    this.ensure().then(function () {
      self.state = "running";
      self.showState();
      self.post({ type: "run" });
    }, function () {}); // the failure is already on the page
  };

  Live.prototype.pause = function () {
    if (this.state !== "running") return;
    this.state = "paused";
    this.showState();
    this.post({ type: "pause" });
    this.dirty = true; // say the values where training stopped
  };

  Live.prototype.step = function () {
    var self = this;
    this.ensure().then(function () { self.post({ type: "step", n: 1 }); }, function () {});
  };

  Live.prototype.reset = function () {
    if (!this.worker || this.state === "error") return;
    this.state = "paused";
    this.showState();
    this.history = { loss: [], acc: [] };
    this.post({ type: "reset", settings: this.settings });
  };

  /* For tests and the curious: run n steps, resolve with the worker's weights. */
  Live.prototype.steps = function (n) {
    var self = this;
    return this.ensure().then(function () {
      return new Promise(function (resolve) {
        self.waiters.push(function (m) {
          resolve(m.layers.map(function (L) { return { w: Array.from(L.w), b: Array.from(L.b) }; }));
        });
        if (n) self.post({ type: "step", n: n });
        self.post({ type: "weights" });
      });
    });
  };

  Live.prototype.draw = function () {
    this.dirty = false;
    this.draws += 1;
    this.root.dataset.draws = String(this.draws); // the tests count redraws a second
    var m = this.latest;
    if (!m) return;
    var L = m.layers, first = L[0], units = first.out;
    if (this.tiles === undefined || this.tiles.length !== units) {
      this.grid.textContent = "";
      this.tiles = tiles(this.grid, units);
      this.grid.dataset.units = String(units);
      layoutEpoch += 1;
    }
    for (var u = 0; u < units; u++) paintWeights(this.tiles[u], first.w, u * 784);
    this.barCanvas.hidden = L.length < 2;
    if (L.length > 1) bars(this.barCanvas, L[1].w, units);
    var what = L.length > 1 ? units + " 个隐藏神经元的过滤器；柱状图是每个数字（行）从各过滤器得到的权重，向上为正"
      : "每个数字的权重模板：像素越亮，权重越大";
    this.weightsLabel.textContent = m.step === 0
      ? "随机初始化（随机种子 " + this.settings.seed + "）：还没有训练，" + (L.length > 1 ? "过滤器" : "模板") + "只是噪点。"
      : what + "。";
    var last = this.history.acc.length ? this.history.acc[this.history.acc.length - 1][1] : null;
    var xmax = Math.max(10, m.step);
    plot(this.lossCanvas, [{ points: this.history.loss, colour: colour("--li-error", "#d9480f") }], {
      title: "训练损失（交叉熵）" + (this.history.loss.length ? "：" + fmt(this.history.loss[this.history.loss.length - 1][1]) : ""),
      xlabel: "步数", xmax: xmax, ymin: 0, ymax: 2.5, yticks: [[0, "0"], [1, "1"], [2, "2"]],
      hint: "开始训练后，这里画出每批图像的平均损失"
    });
    plot(this.accCanvas, [{ points: this.history.acc, colour: colour("--md-primary-fg-color", "#3f51b5") }], {
      title: "测试准确率" + (last !== null ? "：" + (100 * last).toFixed(1) + "%" : ""),
      xlabel: m.rest ? "尚未开始训练" : "第 " + m.step.toLocaleString("en-US") + " 步，约 " + m.epoch.toFixed(1) + " 轮",
      xmax: xmax, ymin: 0, ymax: 1, yticks: [[0, "0%"], [0.5, "50%"], [0.9, "90%"], [1, ""]],
      hint: "开始训练后，这里画出留出的测试图像上的准确率"
    });
    confusionPlot(this.confCanvas, this.confusion, "开始训练后填入");
    this.describe(m, last);
    this.predict();
  };

  /* The charts' current values as text: the canvases' names, and the live region. */
  Live.prototype.describe = function (m, acc) {
    var loss = this.history.loss.length ? this.history.loss[this.history.loss.length - 1][1] : null;
    var accText = acc !== null ? (100 * acc).toFixed(1) + "%" : "尚未评估";
    var lossText = loss !== null ? fmt(loss) : "尚无";
    this.lossCanvas.setAttribute("aria-label", "训练损失曲线：当前 " + lossText);
    this.accCanvas.setAttribute("aria-label", "测试准确率曲线：当前 " + accText);
    var wrong = null;
    if (this.confusion) {
      for (var k = 0; k < 100; k++) {
        if (k % 11 && this.confusion[k] && (!wrong || this.confusion[k] > wrong[1])) wrong = [k, this.confusion[k]];
      }
    }
    this.confCanvas.setAttribute("aria-label", "留出测试样本上的混淆矩阵" + (wrong
      ? "：最常见的错误是把 " + Math.floor(wrong[0] / 10) + " 认成 " + wrong[0] % 10 + "（" + wrong[1] + " 次）"
      : ""));
    var text = m.rest ? "尚未开始训练。" : "第 " + m.step.toLocaleString("en-US") + " 步：训练损失 "
      + lossText + "，测试准确率 " + accText + "。";
    var now = performance.now();
    if (text === this.values.textContent) return;
    if (this.state === "running" && now - this.announced < ANNOUNCE_MS) {
      this.dirty = true; // come back to it: the latest values must be said
      return;
    }
    this.announced = now;
    this.values.textContent = text;
  };

  /* ---- the digit to predict ----------------------------------------------------------- */

  Live.prototype.bindPad = function () {
    var self = this, pad = this.pad, ctx = pad.getContext("2d"), last = {};
    function point(e) {
      var r = pad.getBoundingClientRect();
      return { x: (e.clientX - r.left) * PAD / r.width, y: (e.clientY - r.top) * PAD / r.height };
    }
    function line(a, b) {
      ctx.strokeStyle = "#000";
      ctx.lineWidth = PEN;
      ctx.lineCap = "round";
      ctx.beginPath();
      ctx.moveTo(a.x, a.y);
      ctx.lineTo(b.x, b.y);
      ctx.stroke();
    }
    pad.addEventListener("pointerdown", function (e) {
      e.preventDefault();
      pad.setPointerCapture(e.pointerId);
      var p = point(e);
      last[e.pointerId] = p;
      line(p, { x: p.x + 0.1, y: p.y });
      self.fromPad();
    });
    pad.addEventListener("pointermove", function (e) {
      var a = last[e.pointerId];
      if (!a) return;
      var p = point(e);
      line(a, p);
      last[e.pointerId] = p;
      self.fromPad();
    });
    function end(e) { delete last[e.pointerId]; }
    pad.addEventListener("pointerup", end);
    pad.addEventListener("pointercancel", end);
  };

  Live.prototype.fromPad = function () {
    var d = this.pad.getContext("2d").getImageData(0, 0, PAD, PAD);
    this.input = LiDigits.mnistLike(LiDigits.inkFromRGBA(d.data, PAD, PAD), PAD, PAD);
    this.inputLabel = null;
    this.dirty = true;
  };

  Live.prototype.clearPad = function () {
    this.pad.getContext("2d").clearRect(0, 0, PAD, PAD);
    this.input = null;
    this.answer.textContent = PAD_HINT;
    this.probs.textContent = "";
    this.probBars = null; // removed above: predict() builds them again
    this.seen.getContext("2d").clearRect(0, 0, SIZE, SIZE);
  };

  Live.prototype.nextTest = function () {
    if (!this.test) {
      this.answer.textContent = "按“开始”后才有测试图像；也可以直接在左边写一个。";
      return;
    }
    var n = this.test.labels.length, i = this.testIndex % n;
    this.testIndex += 37; // stride through the classes rather than 0, 0, 0, 1, …
    this.pad.getContext("2d").clearRect(0, 0, PAD, PAD);
    var x = new Float64Array(784);
    for (var k = 0; k < 784; k++) x[k] = this.test.images[i * 784 + k] / 255;
    this.input = x;
    this.inputLabel = this.test.labels[i];
    this.dirty = true;
  };

  Live.prototype.predict = function () {
    if (!this.input || !this.latest) return;
    var bytes = new Uint8Array(784);
    for (var k = 0; k < 784; k++) bytes[k] = Math.round(255 * this.input[k]);
    paintGrey(this.seen, bytes, 0, true);
    var L = this.latest.layers;
    var r = LiTrain.predict(L, L.length > 1 ? L[0].out : 0, this.input);
    var best = LiDigits.argmax(r.probs);
    this.answer.textContent = "网络认为是 " + best + "（" + (100 * r.probs[best]).toFixed(1) + "%）" +
      (this.inputLabel !== null && this.inputLabel !== undefined ? "，答案是 " + this.inputLabel : "");
    this.root.dataset.prediction = String(best);
    if (!this.probBars) {
      this.probs.textContent = "";
      this.probBars = [];
      for (var c = 0; c < 10; c++) {
        var fill = el("span", { class: "li-tr-pfill" });
        this.probs.appendChild(el("span", { class: "li-tr-prow" }, [el("span", { text: String(c) }),
          el("span", { class: "li-tr-ptrack" }, [fill])]));
        this.probBars.push(fill);
      }
    }
    for (var d = 0; d < 10; d++) {
      this.probBars[d].style.width = (100 * r.probs[d]).toFixed(1) + "%";
      this.probBars[d].classList.toggle("li-tr-best", d === best);
    }
  };

  /* ---- start ------------------------------------------------------------------------------ */

  function init() {
    var replayRoot = document.querySelector(".li-train-replay");
    var liveRoot = document.querySelector(".li-train-live");
    if (liveRoot) {
      // The static fallback goes only once the live part is built.
      var live = new Live(liveRoot);
      liveRoot.querySelector(".li-fallback").hidden = true;
      window.LiPlayground = { live: live, parseHash: parseHash };
      liveRoot.dataset.state = "ready";
    }
    if (replayRoot) {
      // The static figure is only for readers without JavaScript, or if the data fail
      // to load (interactive.css keeps it from showing, and so from downloading).
      var replayFallback = replayRoot.querySelector(".li-fallback");
      replayFallback.hidden = true;
      fetch(replayRoot.dataset.replay)
        .then(function (r) {
          if (!r.ok) throw new Error("HTTP " + r.status);
          return r.json();
        })
        .then(function (doc) {
          replayRoot.querySelector(".li-fallback").hidden = true;
          var body = el("div", { class: "li-tr-body" });
          replayRoot.appendChild(body);
          window.LiReplay = new Replay(body, doc);
          replayRoot.dataset.state = "ready";
        })
        .catch(function (e) {
          replayFallback.hidden = false;
          replayRoot.appendChild(el("p", { class: "li-load-error",
            text: "回放数据读取失败（" + e.message + "），下面保留静态图。" }));
          replayRoot.dataset.state = "error";
        });
    }
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
