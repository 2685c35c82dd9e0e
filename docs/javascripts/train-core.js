/* The playground's trainer: a 784 -> [hidden, sigmoid] -> 10 network, softmax
 * cross-entropy, Adam with L2 weight decay (torch.optim.Adam's `weight_decay`, as the
 * site's own networks are trained). No DOM: the worker imports it, and so can a test.
 *
 * Plain Float32Array loops rather than a library (TensorFlow.js and the like weigh
 * hundreds of kB and pick kernels per device, so no bit-level reference could follow
 * them): the network is small enough that a loop that skips the ~80% of MNIST
 * pixels that are blank takes a couple of milliseconds per batch, and every
 * operation and its order is written here, which the numpy reference in
 * tests/train_reference.py repeats line by line.
 *
 * Storage is float32 (parameters and Adam's moments); arithmetic is JavaScript's
 * float64, rounded when stored. Gradients stay float64.
 *
 * Exposes self.LiTrain (window in a page, the global scope in a worker).
 */
(function (root) {
  "use strict";

  var PIXELS = 784, CLASSES = 10;
  var BETA1 = 0.9, BETA2 = 0.999, EPS = 1e-8;

  /* mulberry32: a tiny 32-bit generator, easy to repeat exactly in Python. */
  function Rng(seed) {
    this.a = seed >>> 0;
  }
  Rng.prototype.next = function () {
    this.a = (this.a + 0x6D2B79F5) >>> 0;
    var t = this.a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t = (t + Math.imul(t ^ (t >>> 7), t | 61)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };

  /* Layer shapes (out, in): [[10, 784]] or [[h, 784], [10, h]]. */
  function shapes(hidden) {
    return hidden > 0 ? [[hidden, PIXELS], [CLASSES, hidden]] : [[CLASSES, PIXELS]];
  }

  /* Layers {out, in, w, b} drawn from `rng` like torch's Linear: U(-1/sqrt(in),
   * 1/sqrt(in)) for weights then biases, layer by layer. */
  function initLayers(hidden, rng) {
    return shapes(hidden).map(function (s) {
      var L = { out: s[0], in: s[1] }, bound = 1 / Math.sqrt(L.in);
      L.w = new Float32Array(L.out * L.in);
      L.b = new Float32Array(L.out);
      for (var i = 0; i < L.w.length; i++) L.w[i] = (2 * rng.next() - 1) * bound;
      for (var j = 0; j < L.b.length; j++) L.b[j] = (2 * rng.next() - 1) * bound;
      return L;
    });
  }

  /* The untrained network a Trainer with this seed starts from, without the data:
   * what the page shows before the sample is downloaded. */
  function initial(hidden, seed) {
    return initLayers(hidden, new Rng(seed));
  }

  /* A network and its optimiser state, initialised from `seed` (initLayers). The
   * same generator then shuffles the training data, epoch after epoch. */
  function Trainer(opts, images, labels) {
    this.hidden = opts.hidden;
    this.lr = opts.lr;
    this.wd = opts.weightDecay;
    this.batch = Math.min(opts.batch, labels.length);
    this.images = images; // Uint8Array (n, 784)
    this.labels = labels; // Uint8Array (n,)
    this.rng = new Rng(opts.seed);
    this.layers = initLayers(opts.hidden, this.rng);
    this.layers.forEach(function (L) {
      L.gw = new Float64Array(L.w.length);
      L.gb = new Float64Array(L.out);
      L.mw = new Float32Array(L.w.length);
      L.vw = new Float32Array(L.w.length);
      L.mb = new Float32Array(L.out);
      L.vb = new Float32Array(L.out);
    });
    this.step = 0;
    this.order = new Int32Array(labels.length);
    this.cursor = labels.length; // forces a shuffle before the first batch
    var B = this.batch, H = this.hidden;
    this.x = new Float64Array(B * PIXELS);
    this.nz = new Int32Array(B * PIXELS);
    this.count = new Int32Array(B);
    this.h = new Float64Array(B * Math.max(H, 1));
    this.p = new Float64Array(B * CLASSES);
    this.dh = new Float64Array(Math.max(H, 1));
  }

  /* Fisher-Yates over 0..n-1, a new order every epoch. */
  Trainer.prototype.shuffle = function () {
    var o = this.order, n = o.length;
    for (var i = 0; i < n; i++) o[i] = i;
    for (var k = n - 1; k > 0; k--) {
      var j = Math.floor(this.rng.next() * (k + 1));
      var t = o[k];
      o[k] = o[j];
      o[j] = t;
    }
    this.cursor = 0;
  };

  /* Scores for `rows` images into out (rows, 10); hidden activations into h. The
   * images come as their inked pixels only (see loadRows): blank pixels would add
   * exact zeros, so skipping them changes no sum, and saves ~80% of the work. */
  function forward(layers, H, x, nz, count, rows, h, out) {
    var first = layers[0], w = first.w, k, r, j, q, s;
    for (r = 0; r < rows; r++) {
      var base = r * PIXELS, n = count[r];
      var units = first.out, target = H > 0 ? h : out, to = r * units;
      for (j = 0; j < units; j++) {
        s = 0;
        var wrow = j * PIXELS;
        for (q = 0; q < n; q++) s += w[wrow + nz[base + q]] * x[base + q];
        s += first.b[j];
        target[to + j] = H > 0 ? 1 / (1 + Math.exp(-s)) : s;
      }
      if (H > 0) {
        var second = layers[1];
        for (k = 0; k < CLASSES; k++) {
          s = 0;
          for (j = 0; j < H; j++) s += second.w[k * H + j] * h[r * H + j];
          out[r * CLASSES + k] = s + second.b[k];
        }
      }
    }
  }

  /* In place: scores -> probabilities, row by row; returns the summed loss. */
  function softmaxLoss(p, rows, labels, offset, order) {
    var loss = 0;
    for (var r = 0; r < rows; r++) {
      var o = r * CLASSES, max = -Infinity, sum = 0, c;
      for (c = 0; c < CLASSES; c++) if (p[o + c] > max) max = p[o + c];
      for (c = 0; c < CLASSES; c++) sum += (p[o + c] = Math.exp(p[o + c] - max));
      for (c = 0; c < CLASSES; c++) p[o + c] /= sum;
      var y = labels[order ? order[offset + r] : offset + r];
      loss -= Math.log(Math.max(p[o + y], 1e-300));
    }
    return loss;
  }

  /* Row r's inked pixels: their indices in nz[r*784 ...] (ascending) and their
   * values (ink / 255) in x at the same places; count[r] of them. */
  function loadRows(images, order, offset, rows, x, nz, count) {
    for (var r = 0; r < rows; r++) {
      var src = (order ? order[offset + r] : offset + r) * PIXELS, dst = r * PIXELS, n = 0;
      for (var i = 0; i < PIXELS; i++) {
        var v = images[src + i];
        if (v !== 0) {
          nz[dst + n] = i;
          x[dst + n] = v / 255;
          n++;
        }
      }
      count[r] = n;
    }
  }

  function adam(w, g, m, v, n, lr, wd, bc1, bc2) {
    var stepSize = lr / bc1, root2 = Math.sqrt(bc2);
    for (var i = 0; i < n; i++) {
      var gi = g[i] + wd * w[i];
      m[i] = BETA1 * m[i] + (1 - BETA1) * gi;
      v[i] = BETA2 * v[i] + (1 - BETA2) * gi * gi;
      w[i] = w[i] - stepSize * (m[i] / (Math.sqrt(v[i]) / root2 + EPS));
    }
  }

  /* One optimiser step on the next batch; returns the batch's mean loss. */
  Trainer.prototype.trainStep = function () {
    var B = this.batch, H = this.hidden, L = this.layers;
    if (this.cursor + B > this.order.length) this.shuffle();
    var offset = this.cursor;
    this.cursor += B;
    var x = this.x, h = this.h, p = this.p, nz = this.nz, count = this.count;
    loadRows(this.images, this.order, offset, B, x, nz, count);
    forward(L, H, x, nz, count, B, h, p);
    var loss = softmaxLoss(p, B, this.labels, offset, this.order) / B;
    // dL/dscores = (p - onehot) / B, written over p.
    for (var r = 0; r < B; r++) {
      p[r * CLASSES + this.labels[this.order[offset + r]]] -= 1;
      for (var c = 0; c < CLASSES; c++) p[r * CLASSES + c] /= B;
    }
    L.forEach(function (layer) {
      layer.gw.fill(0);
      layer.gb.fill(0);
    });
    var first = L[0], gw = first.gw, q, j, k, d;
    for (r = 0; r < B; r++) {
      var xo = r * PIXELS, po = r * CLASSES, n = count[r];
      var dz; // gradient at the first layer's pre-activations
      if (H > 0) {
        var second = L[1], ho = r * H;
        for (k = 0; k < CLASSES; k++) {
          d = p[po + k];
          second.gb[k] += d;
          for (j = 0; j < H; j++) second.gw[k * H + j] += d * h[ho + j];
        }
        dz = this.dh;
        for (j = 0; j < H; j++) {
          var s = 0;
          for (k = 0; k < CLASSES; k++) s += p[po + k] * second.w[k * H + j];
          dz[j] = s * h[ho + j] * (1 - h[ho + j]);
        }
      } else {
        dz = p.subarray(po, po + CLASSES);
      }
      for (j = 0; j < first.out; j++) {
        d = dz[j];
        first.gb[j] += d;
        var wo = j * PIXELS;
        for (q = 0; q < n; q++) gw[wo + nz[xo + q]] += d * x[xo + q];
      }
    }
    this.step += 1;
    var bc1 = 1 - Math.pow(BETA1, this.step), bc2 = 1 - Math.pow(BETA2, this.step);
    var lr = this.lr, wd = this.wd;
    L.forEach(function (layer) {
      adam(layer.w, layer.gw, layer.mw, layer.vw, layer.w.length, lr, wd, bc1, bc2);
      adam(layer.b, layer.gb, layer.mb, layer.vb, layer.out, lr, wd, bc1, bc2);
    });
    return loss;
  };

  /* Accuracy, mean loss and the 10x10 confusion (rows actual) on a held-out set. */
  Trainer.prototype.evaluate = function (images, labels) {
    var n = labels.length, chunk = 100, H = this.hidden;
    var x = new Float64Array(chunk * PIXELS), h = new Float64Array(chunk * Math.max(H, 1));
    var nz = new Int32Array(chunk * PIXELS), count = new Int32Array(chunk);
    var p = new Float64Array(chunk * CLASSES), confusion = new Int32Array(100);
    var correct = 0, loss = 0;
    for (var start = 0; start < n; start += chunk) {
      var rows = Math.min(chunk, n - start);
      loadRows(images, null, start, rows, x, nz, count);
      forward(this.layers, H, x, nz, count, rows, h, p);
      loss += softmaxLoss(p, rows, labels, start, null);
      for (var r = 0; r < rows; r++) {
        var best = 0;
        for (var c = 1; c < CLASSES; c++) if (p[r * CLASSES + c] > p[r * CLASSES + best]) best = c;
        var y = labels[start + r];
        confusion[y * 10 + best] += 1;
        if (best === y) correct += 1;
      }
    }
    return { accuracy: correct / n, loss: loss / n, confusion: confusion };
  };

  /* Probabilities for one image given as 784 floats in [0, 1]; layers as in
   * Trainer (plain {out, in, w, b} objects will do). */
  function predict(layers, hidden, image) {
    var h = new Float64Array(Math.max(hidden, 1)), p = new Float64Array(CLASSES);
    var x = new Float64Array(PIXELS), nz = new Int32Array(PIXELS), n = 0;
    for (var i = 0; i < PIXELS; i++) {
      if (image[i] !== 0) {
        nz[n] = i;
        x[n++] = image[i];
      }
    }
    forward(layers, hidden, x, nz, [n], 1, h, p);
    softmaxLoss(p, 1, [0], 0, null);
    return { probs: p, hidden: hidden > 0 ? h : null };
  }

  root.LiTrain = {
    PIXELS: PIXELS, CLASSES: CLASSES, Rng: Rng, Trainer: Trainer, shapes: shapes,
    initial: initial, predict: predict
  };
})(typeof self !== "undefined" ? self : this);
