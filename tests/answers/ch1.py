"""Chapter 1: known-wrong answers (MUTANTS) and known-right ones (ALTERNATIVES).

Each entry replaces the whole solution cell of that answer (keyed by the
cell's nbgrader grade_id). The round-trip test autogrades them with nbgrader:
every mutant must lose points on its answer's test cells, every alternative
must keep them all.
"""

MUTANTS = {
    "neuron": [
        # forgot the bias
        "def neuron(x, w, b, activation):\n    return activation(np.dot(w, x))\n",
        # activation applied before the bias is added
        "def neuron(x, w, b, activation):\n    return activation(np.dot(w, x)) + b\n",
        # elementwise product, never summed
        "def neuron(x, w, b, activation):\n    return activation(w * x + b)\n",
        # activation ignored
        "def neuron(x, w, b, activation):\n    return np.dot(w, x) + b\n",
        # inputs and weights added instead of multiplied
        "def neuron(x, w, b, activation):\n    return activation(np.sum(w + x) + b)\n",
    ],
    "activations": [
        # relu as absolute value
        "def relu(z):\n    return np.abs(z)\n\n"
        "def sigmoid(z):\n    return 1 / (1 + np.exp(-z))\n\n"
        "def tanh(z):\n    return 2 / (1 + np.exp(-2 * z)) - 1\n",
        # sigmoid with a sign error, relu editing its input in place
        "def relu(z):\n    z[z < 0] = 0\n    return z\n\n"
        "def sigmoid(z):\n    return 1 / (1 + np.exp(z))\n\n"
        "def tanh(z):\n    return 2 / (1 + np.exp(-2 * z)) - 1\n",
        # tanh by the textbook formula, which overflows to nan; and np.tanh is forbidden anyway
        "def relu(z):\n    return np.maximum(z, 0)\n\n"
        "def sigmoid(z):\n    return np.tanh(z)\n\n"
        "def tanh(z):\n    return (np.exp(z) - np.exp(-z)) / (np.exp(z) + np.exp(-z))\n",
        # the forbidden shortcuts
        "from course_lib.numpy_nn import relu, sigmoid\n\n"
        "def tanh(z):\n    return np.tanh(z)\n",
        # relu as a step function (0 or 1)
        "def relu(z):\n    return (np.asarray(z) > 0).astype(float)\n\n"
        "def sigmoid(z):\n    return 1 / (1 + np.exp(-z))\n\n"
        "def tanh(z):\n    return 2 / (1 + np.exp(-2 * z)) - 1\n",
    ],
    "dense": [
        # forgot the bias
        "def dense(X, W, b):\n    return X @ W\n",
        # weights transposed (only works for square W)
        "def dense(X, W, b):\n    return X @ W.T + b\n",
        # bias along the wrong axis
        "def dense(X, W, b):\n    return X @ W + b[:, None]\n",
        # elementwise product with broadcasting
        "def dense(X, W, b):\n    return (X[:, :, None] * W).mean(axis=1) + b\n",
        # bias subtracted
        "def dense(X, W, b):\n    return X @ W - b\n",
    ],
    "mlp": [
        # activation after the output layer too
        "def mlp(X, params, activation):\n"
        "    h = X\n"
        "    for W, b in params:\n"
        "        h = activation(h @ W + b)\n"
        "    return h\n",
        # no activation at all
        "def mlp(X, params, activation):\n"
        "    h = X\n"
        "    for W, b in params:\n"
        "        h = h @ W + b\n"
        "    return h\n",
        # off by one: the last layer is skipped
        "def mlp(X, params, activation):\n"
        "    h = X\n"
        "    for W, b in params[:-1]:\n"
        "        h = activation(h @ W + b)\n"
        "    return h\n",
        # the forbidden reference
        "from course_lib import numpy_nn\n\n"
        "def mlp(X, params, activation):\n"
        "    return numpy_nn.mlp(X, params, activation)\n",
        # the activation applied before each layer (to the input too) instead of after each hidden layer
        "def mlp(X, params, activation):\n"
        "    h = X\n"
        "    for W, b in params:\n"
        "        h = activation(h) @ W + b\n"
        "    return h\n",
    ],
    "count_parameters": [
        # weights only
        "def count_parameters(layer_sizes):\n"
        "    return sum(a * b for a, b in zip(layer_sizes[:-1], layer_sizes[1:]))\n",
        # one bias per input
        "def count_parameters(layer_sizes):\n"
        "    return sum(a * b + a for a, b in zip(layer_sizes[:-1], layer_sizes[1:]))\n",
        # counts neurons
        "def count_parameters(layer_sizes):\n"
        "    return sum(layer_sizes)\n",
        # returns a float
        "def count_parameters(layer_sizes):\n"
        "    return float(sum(a * b + b for a, b in zip(layer_sizes[:-1], layer_sizes[1:])))\n",
        # one bias per layer instead of one per neuron
        "def count_parameters(layer_sizes):\n"
        "    return sum(a * b + 1 for a, b in zip(layer_sizes[:-1], layer_sizes[1:]))\n",
    ],
}

ALTERNATIVES = {
    "neuron": [
        "def neuron(x, w, b, activation):\n    return activation(w @ x + b)\n",
        "def neuron(x, w, b, activation):\n"
        "    total = b\n"
        "    for xi, wi in zip(x, w):\n"
        "        total += xi * wi\n"
        "    return activation(total)\n",
    ],
    "activations": [
        "def relu(z):\n    return np.maximum(z, 0)\n\n"
        "def sigmoid(z):\n    return 1 / (1 + np.exp(-z))\n\n"
        "def tanh(z):\n    return 2 * sigmoid(2 * z) - 1\n",
        "def relu(z):\n    return z * (z > 0)\n\n"
        "def sigmoid(z):\n"
        "    z = np.asarray(z, dtype=float)\n"
        "    out = np.empty_like(z)\n"
        "    pos = z >= 0\n"
        "    out[pos] = 1 / (1 + np.exp(-z[pos]))\n"
        "    out[~pos] = np.exp(z[~pos]) / (1 + np.exp(z[~pos]))\n"
        "    return out\n\n"
        "def tanh(z):\n"
        "    z = np.clip(z, -30, 30)\n"
        "    return (np.exp(2 * z) - 1) / (np.exp(2 * z) + 1)\n",
    ],
    "dense": [
        "def dense(X, W, b):\n    return np.dot(X, W) + b\n",
        "def dense(X, W, b):\n"
        "    out = np.zeros((X.shape[0], W.shape[1]))\n"
        "    for i in range(X.shape[0]):\n"
        "        for j in range(W.shape[1]):\n"
        "            out[i, j] = np.sum(X[i] * W[:, j]) + b[j]\n"
        "    return out\n",
    ],
    "mlp": [
        "def mlp(X, params, activation):\n"
        "    h = X\n"
        "    for i, (W, b) in enumerate(params):\n"
        "        h = h @ W + b\n"
        "        if i < len(params) - 1:\n"
        "            h = activation(h)\n"
        "    return h\n",
        "def mlp(X, params, activation):\n"
        "    if len(params) == 1:\n"
        "        return dense(X, *params[0])\n"
        "    W, b = params[0]\n"
        "    return mlp(activation(dense(X, W, b)), params[1:], activation)\n",
    ],
    "count_parameters": [
        "def count_parameters(layer_sizes):\n"
        "    total = 0\n"
        "    for i in range(1, len(layer_sizes)):\n"
        "        total += (layer_sizes[i - 1] + 1) * layer_sizes[i]\n"
        "    return total\n",
        "def count_parameters(layer_sizes):\n"
        "    sizes = np.array(layer_sizes)\n"
        "    return int(np.sum(sizes[:-1] * sizes[1:]) + np.sum(sizes[1:]))\n",
    ],
}
