"""Chapter 3: known-wrong answers (MUTANTS) and known-right ones (ALTERNATIVES).

Each entry replaces the whole solution cell of that answer (keyed by the
cell's nbgrader grade_id). The round-trip test autogrades them with nbgrader:
every mutant must lose points on its answer's test cells, every alternative
must keep them all.
"""


def _bump_one_at_a_time(difference: str) -> str:
    """A numerical_gradient that bumps one entry at a time, with the given difference quotient."""
    return ("def numerical_gradient(f, x, eps=1e-5):\n"
            "    x = np.array(x, dtype=float)\n"
            "    g = np.zeros_like(x)\n"
            "    for i in np.ndindex(x.shape):\n"
            "        d = np.zeros_like(x)\n"
            "        d[i] = eps\n"
            f"        g[i] = {difference}\n"
            "    return g\n")


def _random_batches(update: str) -> str:
    """A train loop on random mini-batches whose parameter update is ``update`` (indented lines)."""
    return ("def train(X, y, params, steps, lr, batch_size, seed=0):\n"
            "    rng = np.random.default_rng(seed)\n"
            "    losses = []\n"
            "    for _ in range(steps):\n"
            "        b = rng.integers(0, len(X), size=batch_size)\n"
            "        losses.append(mlp_loss(X[b], y[b], params))\n"
            f"{update}"
            "    return params, losses\n")


MUTANTS = {
    "softmax": [
        # the textbook formula: overflows for large scores
        "def softmax(z):\n"
        "    e = np.exp(z)\n"
        "    return e / e.sum(axis=-1, keepdims=True)\n",
        # normalised over the whole array instead of each row
        "def softmax(z):\n"
        "    e = np.exp(z - np.max(z))\n"
        "    return e / e.sum()\n",
        # never normalised
        "def softmax(z):\n"
        "    return np.exp(z - np.max(z, axis=-1, keepdims=True))\n",
        # the forbidden shortcut
        "def softmax(z):\n"
        "    return torch.softmax(torch.tensor(z), dim=-1).numpy()\n",
        # normalised down each column (axis 0) instead of along each row
        "def softmax(z):\n"
        "    e = np.exp(z - np.max(z, axis=0, keepdims=True))\n"
        "    return e / e.sum(axis=0, keepdims=True)\n",
    ],
    "cross_entropy": [
        # sum instead of mean
        "def cross_entropy(logits, targets):\n"
        "    p = softmax(logits)\n"
        "    return float(-np.log(p[np.arange(len(targets)), targets]).sum())\n",
        # log of softmax: -log(0) = inf for a confident wrong prediction
        "def cross_entropy(logits, targets):\n"
        "    p = softmax(logits)\n"
        "    return float(-np.log(p[np.arange(len(targets)), targets]).mean())\n",
        # minus sign forgotten
        "def cross_entropy(logits, targets):\n"
        "    top = logits.max(axis=1, keepdims=True)\n"
        "    logp = logits - top - np.log(np.exp(logits - top).sum(axis=1, keepdims=True))\n"
        "    return float(logp[np.arange(len(targets)), targets].mean())\n",
        # the forbidden shortcut
        "import torch.nn.functional as F\n\n"
        "def cross_entropy(logits, targets):\n"
        "    return F.cross_entropy(torch.tensor(logits), torch.tensor(targets)).item()\n",
        # in bits (log base 2) instead of nats
        "def cross_entropy(logits, targets):\n"
        "    top = logits.max(axis=1, keepdims=True)\n"
        "    logp = logits - top - np.log(np.exp(logits - top).sum(axis=1, keepdims=True))\n"
        "    return float(-logp[np.arange(len(targets)), targets].mean() / np.log(2))\n",
    ],
    "numerical_gradient": [
        # forward difference
        _bump_one_at_a_time("(f(x + d) - f(x)) / eps"),
        # bumps x in place and never puts it back
        "def numerical_gradient(f, x, eps=1e-5):\n"
        "    g = np.zeros_like(x)\n"
        "    for i in np.ndindex(x.shape):\n"
        "        x[i] += eps\n"
        "        up = f(x)\n"
        "        x[i] -= 2 * eps\n"
        "        down = f(x)\n"
        "        g[i] = (up - down) / (2 * eps)\n"
        "    return g\n",
        # divides by eps instead of 2 eps
        _bump_one_at_a_time("(f(x + d) - f(x - d)) / eps"),
        # bumps every entry at once
        "def numerical_gradient(f, x, eps=1e-5):\n"
        "    return np.full(np.shape(x), (f(x + eps) - f(x - eps)) / (2 * eps))\n",
        # the given eps ignored in the quotient: always divides by 2e-5
        _bump_one_at_a_time("(f(x + d) - f(x - d)) / 2e-5"),
    ],
    "mlp_backward": [
        # no division by the batch size
        "def mlp_backward(X, y, params):\n"
        "    h = np.tanh(X @ params['W1'] + params['b1'])\n"
        "    d = softmax(h @ params['W2'] + params['b2'])\n"
        "    d[np.arange(len(y)), y] -= 1\n"
        "    dz = d @ params['W2'].T * (1 - h**2)\n"
        "    return {'W1': X.T @ dz, 'b1': dz.sum(0), 'W2': h.T @ d, 'b2': d.sum(0)}\n",
        # forgot the derivative of tanh (the output layer is still right)
        "def mlp_backward(X, y, params):\n"
        "    h = np.tanh(X @ params['W1'] + params['b1'])\n"
        "    d = softmax(h @ params['W2'] + params['b2'])\n"
        "    d[np.arange(len(y)), y] -= 1\n"
        "    d /= len(y)\n"
        "    dz = d @ params['W2'].T\n"
        "    return {'W1': X.T @ dz, 'b1': dz.sum(0), 'W2': h.T @ d, 'b2': d.sum(0)}\n",
        # autograd, which is forbidden here
        "def mlp_backward(X, y, params):\n"
        "    t = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}\n"
        "    h = torch.tanh(torch.tensor(X) @ t['W1'] + t['b1'])\n"
        "    loss = torch.nn.functional.cross_entropy(h @ t['W2'] + t['b2'], torch.tensor(y))\n"
        "    loss.backward()\n"
        "    return {k: v.grad.numpy() for k, v in t.items()}\n",
        # sign error: one-hot minus probabilities
        "def mlp_backward(X, y, params):\n"
        "    h = np.tanh(X @ params['W1'] + params['b1'])\n"
        "    d = -softmax(h @ params['W2'] + params['b2'])\n"
        "    d[np.arange(len(y)), y] += 1\n"
        "    d /= len(y)\n"
        "    dz = d @ params['W2'].T * (1 - h**2)\n"
        "    return {'W1': X.T @ dz, 'b1': dz.sum(0), 'W2': h.T @ d, 'b2': d.sum(0)}\n",
        # keeps the hidden layer in the caller's params (right gradients, but params changed)
        "def mlp_backward(X, y, params):\n"
        "    params['cache_hidden'] = np.tanh(X @ params['W1'] + params['b1'])\n"
        "    h = params['cache_hidden']\n"
        "    d = softmax(h @ params['W2'] + params['b2'])\n"
        "    d[np.arange(len(y)), y] -= 1\n"
        "    d /= len(y)\n"
        "    dz = d @ params['W2'].T * (1 - h**2)\n"
        "    return {'W1': X.T @ dz, 'b1': dz.sum(0), 'W2': h.T @ d, 'b2': d.sum(0)}\n",
    ],
    "sgd_step": [
        # uphill
        "def sgd_step(params, grads, lr):\n"
        "    return {k: params[k] + lr * grads[k] for k in params}\n",
        # changes the parameters in place
        "def sgd_step(params, grads, lr):\n"
        "    for k in params:\n"
        "        params[k] -= lr * grads[k]\n"
        "    return params\n",
        # learning rate forgotten
        "def sgd_step(params, grads, lr):\n"
        "    return {k: params[k] - grads[k] for k in params}\n",
        # returns the step instead of the new parameters
        "def sgd_step(params, grads, lr):\n"
        "    return {k: -lr * grads[k] for k in params}\n",
        # a fixed learning rate instead of lr
        "def sgd_step(params, grads, lr):\n"
        "    return {k: params[k] - 0.1 * grads[k] for k in params}\n",
    ],
    "train": [
        # the new parameters are thrown away
        _random_batches("        sgd_step(params, mlp_backward(X[b], y[b], params), lr)\n"),
        # always the same first mini-batch (the data are ordered by class)
        "def train(X, y, params, steps, lr, batch_size, seed=0):\n"
        "    losses = []\n"
        "    for _ in range(steps):\n"
        "        Xb, yb = X[:batch_size], y[:batch_size]\n"
        "        losses.append(mlp_loss(Xb, yb, params))\n"
        "        params = sgd_step(params, mlp_backward(Xb, yb, params), lr)\n"
        "    return params, losses\n",
        # uphill, with its own update
        _random_batches("        grads = mlp_backward(X[b], y[b], params)\n"
                        "        params = {k: params[k] + lr * grads[k] for k in params}\n"),
        # the loss recorded once, after the loop, instead of at every step
        "def train(X, y, params, steps, lr, batch_size, seed=0):\n"
        "    rng = np.random.default_rng(seed)\n"
        "    for _ in range(steps):\n"
        "        b = rng.integers(0, len(X), size=batch_size)\n"
        "        params = sgd_step(params, mlp_backward(X[b], y[b], params), lr)\n"
        "    return params, [mlp_loss(X, y, params)]\n",
        # the generator created inside the loop: the same mini-batch at every step
        "def train(X, y, params, steps, lr, batch_size, seed=0):\n"
        "    losses = []\n"
        "    for _ in range(steps):\n"
        "        rng = np.random.default_rng(seed)\n"
        "        b = rng.integers(0, len(X), size=batch_size)\n"
        "        losses.append(mlp_loss(X[b], y[b], params))\n"
        "        params = sgd_step(params, mlp_backward(X[b], y[b], params), lr)\n"
        "    return params, losses\n",
        # full-batch steps: batch_size and seed ignored
        "def train(X, y, params, steps, lr, batch_size, seed=0):\n"
        "    losses = []\n"
        "    for _ in range(steps):\n"
        "        losses.append(mlp_loss(X, y, params))\n"
        "        params = sgd_step(params, mlp_backward(X, y, params), lr)\n"
        "    return params, losses\n",
        # the loss recorded after the step (the text says before)
        "def train(X, y, params, steps, lr, batch_size, seed=0):\n"
        "    rng = np.random.default_rng(seed)\n"
        "    losses = []\n"
        "    for _ in range(steps):\n"
        "        b = rng.integers(0, len(X), size=batch_size)\n"
        "        params = sgd_step(params, mlp_backward(X[b], y[b], params), lr)\n"
        "        losses.append(mlp_loss(X[b], y[b], params))\n"
        "    return params, losses\n",
        # batches taken in order, no randomness
        "def train(X, y, params, steps, lr, batch_size, seed=0):\n"
        "    losses = []\n"
        "    for step in range(steps):\n"
        "        b = (step * batch_size + np.arange(batch_size)) % len(X)\n"
        "        losses.append(mlp_loss(X[b], y[b], params))\n"
        "        params = sgd_step(params, mlp_backward(X[b], y[b], params), lr)\n"
        "    return params, losses\n",
    ],
}

ALTERNATIVES = {
    "softmax": [
        # through the log-sum-exp
        "def softmax(z):\n"
        "    z = np.asarray(z, dtype=float)\n"
        "    m = np.max(z, axis=-1, keepdims=True)\n"
        "    lse = m + np.log(np.sum(np.exp(z - m), axis=-1, keepdims=True))\n"
        "    return np.exp(z - lse)\n",
        # one row at a time
        "def softmax(z):\n"
        "    def one(row):\n"
        "        e = np.exp(row - row.max())\n"
        "        return e / e.sum()\n"
        "    return np.apply_along_axis(one, -1, np.asarray(z, dtype=float))\n",
    ],
    "cross_entropy": [
        # a one-hot matrix picks the right words
        "def cross_entropy(logits, targets):\n"
        "    n, v = logits.shape\n"
        "    m = logits.max(axis=1, keepdims=True)\n"
        "    logp = logits - m - np.log(np.exp(logits - m).sum(axis=1, keepdims=True))\n"
        "    onehot = np.eye(v)[targets]\n"
        "    return -(onehot * logp).sum() / n\n",
        # a loop over the predictions
        "import math\n\n"
        "def cross_entropy(logits, targets):\n"
        "    total = 0.0\n"
        "    for row, t in zip(logits, targets):\n"
        "        m = max(row)\n"
        "        total += m + math.log(sum(math.exp(s - m) for s in row)) - row[t]\n"
        "    return total / len(targets)\n",
    ],
    "numerical_gradient": [
        # bump in place on a copy, then put the value back
        "def numerical_gradient(f, x, eps=1e-5):\n"
        "    x = x.astype(float).copy()\n"
        "    g = np.empty_like(x)\n"
        "    for i in np.ndindex(*x.shape):\n"
        "        old = x[i]\n"
        "        x[i] = old + eps\n"
        "        up = f(x)\n"
        "        x[i] = old - eps\n"
        "        down = f(x)\n"
        "        x[i] = old\n"
        "        g[i] = (up - down) / (2 * eps)\n"
        "    return g\n",
        # flat index, reshaped back
        "def numerical_gradient(f, x, eps=1e-5):\n"
        "    flat = np.asarray(x, dtype=float).ravel()\n"
        "    out = []\n"
        "    for i in range(flat.size):\n"
        "        e = np.zeros(flat.size)\n"
        "        e[i] = eps\n"
        "        out.append((f((flat + e).reshape(np.shape(x))) - f((flat - e).reshape(np.shape(x)))) / (2 * eps))\n"
        "    return np.array(out).reshape(np.shape(x))\n",
    ],
    "mlp_backward": [
        # one-hot targets and named intermediate steps
        "def mlp_backward(X, y, params):\n"
        "    W1, b1, W2, b2 = params['W1'], params['b1'], params['W2'], params['b2']\n"
        "    pre = X @ W1 + b1\n"
        "    h = np.tanh(pre)\n"
        "    probs = softmax(h @ W2 + b2)\n"
        "    onehot = np.eye(W2.shape[1])[y]\n"
        "    d_logits = (probs - onehot) / X.shape[0]\n"
        "    d_h = d_logits @ W2.T\n"
        "    d_pre = d_h / np.cosh(pre) ** 2\n"
        "    return {'W2': h.T @ d_logits, 'b2': d_logits.sum(axis=0),\n"
        "            'W1': X.T @ d_pre, 'b1': d_pre.sum(axis=0)}\n",
        # one example at a time, then the average
        "def mlp_backward(X, y, params):\n"
        "    grads = {k: np.zeros_like(v) for k, v in params.items()}\n"
        "    for x, t in zip(X, y):\n"
        "        h = np.tanh(x @ params['W1'] + params['b1'])\n"
        "        d = softmax(h @ params['W2'] + params['b2'])\n"
        "        d[t] -= 1\n"
        "        dz = (params['W2'] @ d) * (1 - h * h)\n"
        "        grads['W2'] += np.outer(h, d)\n"
        "        grads['b2'] += d\n"
        "        grads['W1'] += np.outer(x, dz)\n"
        "        grads['b1'] += dz\n"
        "    return {k: g / len(y) for k, g in grads.items()}\n",
    ],
    "sgd_step": [
        "def sgd_step(params, grads, lr):\n"
        "    new = {}\n"
        "    for name, value in params.items():\n"
        "        new[name] = value - lr * grads[name]\n"
        "    return new\n",
        "def sgd_step(params, grads, lr):\n"
        "    return dict((k, np.subtract(v, np.multiply(lr, grads[k]))) for k, v in params.items())\n",
    ],
    "train": [
        # shuffled epochs
        "def train(X, y, params, steps, lr, batch_size, seed=0):\n"
        "    rng = np.random.default_rng(seed)\n"
        "    order, pos, losses = rng.permutation(len(X)), 0, []\n"
        "    for step in range(steps):\n"
        "        if pos + batch_size > len(X):\n"
        "            order, pos = rng.permutation(len(X)), 0\n"
        "        b = order[pos:pos + batch_size]\n"
        "        pos += batch_size\n"
        "        losses.append(mlp_loss(X[b], y[b], params))\n"
        "        grads = mlp_backward(X[b], y[b], params)\n"
        "        params = sgd_step(params, grads, lr)\n"
        "    return params, losses\n",
        # sampling without replacement within each batch
        "def train(X, y, params, steps, lr, batch_size, seed=0):\n"
        "    rng = np.random.default_rng(seed)\n"
        "    losses = []\n"
        "    for _ in range(steps):\n"
        "        idx = rng.choice(len(X), size=batch_size, replace=False)\n"
        "        xb, yb = X[idx], y[idx]\n"
        "        grads = mlp_backward(xb, yb, params)\n"
        "        losses.append(float(mlp_loss(xb, yb, params)))\n"
        "        params = sgd_step(params, grads, lr)\n"
        "    return params, losses\n",
        # updates the caller's params in place (the text does not forbid it)
        "def train(X, y, params, steps, lr, batch_size, seed=0):\n"
        "    rng = np.random.default_rng(seed)\n"
        "    losses = []\n"
        "    for _ in range(steps):\n"
        "        b = rng.integers(0, len(X), size=batch_size)\n"
        "        losses.append(mlp_loss(X[b], y[b], params))\n"
        "        params.update(sgd_step(params, mlp_backward(X[b], y[b], params), lr))\n"
        "    return params, losses\n",
    ],
}
