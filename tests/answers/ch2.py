"""Chapter 2: known-wrong answers (MUTANTS) and known-right ones (ALTERNATIVES).

Each entry replaces the whole solution cell of that answer (keyed by the
cell's nbgrader grade_id). The round-trip test autogrades them with nbgrader:
every mutant must lose points on its answer's test cells, every alternative
must keep them all.
"""

_PROBS = (
    "\n\ndef bigram_probs(counts, previous_id, alpha):\n"
    "    row = counts[previous_id] + alpha\n"
    "    return row / row.sum()\n"
)
_COUNTS = (
    "def bigram_counts(id_docs, vocab_size):\n"
    "    counts = np.zeros((vocab_size, vocab_size))\n"
    "    for ids in id_docs:\n"
    "        for a, b in zip(ids[:-1], ids[1:]):\n"
    "            counts[a, b] += 1\n"
    "    return counts\n"
)

MUTANTS = {
    "encode": [
        # crashes on an unknown word
        "def encode(words, vocab):\n    return [vocab[w] for w in words]\n",
        # drops unknown words
        "def encode(words, vocab):\n    return [vocab[w] for w in words if w in vocab]\n",
        # unknown words become 0 instead of <unk>'s id
        "def encode(words, vocab):\n    return [vocab.get(w, 0) for w in words]\n",
        # ids are positions in the dict, not its values
        "def encode(words, vocab):\n"
        "    keys = list(vocab)\n"
        "    return [keys.index(w) if w in vocab else keys.index('<unk>') for w in words]\n",
        # the course's own tokenizer (forbidden)
        "from course_lib.tokens import Vocab\n\n"
        "def encode(words, vocab):\n"
        "    v = Vocab(sorted(vocab, key=vocab.get))\n"
        "    return v.encode(words)\n",
    ],
    "make_pairs": [
        # the context includes the target itself
        "def make_pairs(token_ids, context_size, pad_id=0):\n"
        "    padded = [pad_id] * context_size + list(token_ids)\n"
        "    contexts = [padded[t - context_size + 1:t + 1] for t in range(context_size + 1, len(padded))]\n"
        "    return np.array(contexts), np.array(token_ids[1:])\n",
        # skips the positions without a full context instead of padding
        "def make_pairs(token_ids, context_size, pad_id=0):\n"
        "    contexts, targets = [], []\n"
        "    for t in range(context_size, len(token_ids)):\n"
        "        contexts.append(token_ids[t - context_size:t])\n"
        "        targets.append(token_ids[t])\n"
        "    return np.array(contexts), np.array(targets)\n",
        # pads on the right
        "def make_pairs(token_ids, context_size, pad_id=0):\n"
        "    contexts, targets = [], []\n"
        "    for t in range(1, len(token_ids)):\n"
        "        window = list(token_ids[max(0, t - context_size):t])\n"
        "        contexts.append(window + [pad_id] * (context_size - len(window)))\n"
        "        targets.append(token_ids[t])\n"
        "    return np.array(contexts), np.array(targets)\n",
        # off by one: the context ends one token too early
        "def make_pairs(token_ids, context_size, pad_id=0):\n"
        "    padded = [pad_id] * (context_size + 1) + list(token_ids)\n"
        "    contexts = [padded[t - context_size:t] for t in range(context_size + 1, len(padded) - 1)]\n"
        "    return np.array(contexts), np.array(token_ids[1:])\n",
        # also predicts <bos> from an empty context
        "def make_pairs(token_ids, context_size, pad_id=0):\n"
        "    padded = [pad_id] * context_size + list(token_ids)\n"
        "    contexts = [padded[t - context_size:t] for t in range(context_size, len(padded))]\n"
        "    return np.array(contexts), np.array(token_ids)\n",
    ],
    "split_documents": [
        # splits copies independently: the same document leaks into both sides
        "def split_documents(docs, test_fraction, seed):\n"
        "    rng = random.Random(seed)\n"
        "    order = list(range(len(docs)))\n"
        "    rng.shuffle(order)\n"
        "    n_test = round(test_fraction * len(docs))\n"
        "    test = [docs[i] for i in order[:n_test]]\n"
        "    train = [docs[i] for i in order[n_test:]]\n"
        "    return train, test\n",
        # removes duplicates, so copies are lost
        "def split_documents(docs, test_fraction, seed):\n"
        "    distinct = [list(d) for d in sorted(set(map(tuple, docs)))]\n"
        "    random.Random(seed).shuffle(distinct)\n"
        "    n_test = round(test_fraction * len(distinct))\n"
        "    return distinct[n_test:], distinct[:n_test]\n",
        # never shuffles: the seed has no effect
        "def split_documents(docs, test_fraction, seed):\n"
        "    distinct = sorted(set(map(tuple, docs)))\n"
        "    n_test = round(test_fraction * len(distinct))\n"
        "    test_set = set(distinct[:n_test])\n"
        "    return ([d for d in docs if tuple(d) not in test_set],\n"
        "            [d for d in docs if tuple(d) in test_set])\n",
        # shuffles the caller's list in place
        "def split_documents(docs, test_fraction, seed):\n"
        "    random.Random(seed).shuffle(docs)\n"
        "    distinct = list(dict.fromkeys(map(tuple, docs)))\n"
        "    n_test = round(test_fraction * len(distinct))\n"
        "    test_set = set(distinct[:n_test])\n"
        "    return ([d for d in docs if tuple(d) not in test_set],\n"
        "            [d for d in docs if tuple(d) in test_set])\n",
        # train and test swapped
        "def split_documents(docs, test_fraction, seed):\n"
        "    distinct = sorted(set(map(tuple, docs)))\n"
        "    random.Random(seed).shuffle(distinct)\n"
        "    n_test = round(test_fraction * len(distinct))\n"
        "    test_set = set(distinct[:n_test])\n"
        "    return ([d for d in docs if tuple(d) in test_set],\n"
        "            [d for d in docs if tuple(d) not in test_set])\n",
    ],
    "bigram": [
        # rows and columns swapped
        "def bigram_counts(id_docs, vocab_size):\n"
        "    counts = np.zeros((vocab_size, vocab_size))\n"
        "    for ids in id_docs:\n"
        "        for a, b in zip(ids[:-1], ids[1:]):\n"
        "            counts[b, a] += 1\n"
        "    return counts\n" + _PROBS,
        # counts pairs across documents (<eos> then <bos>)
        "def bigram_counts(id_docs, vocab_size):\n"
        "    ids = [i for doc in id_docs for i in doc]\n"
        "    counts = np.zeros((vocab_size, vocab_size))\n"
        "    for a, b in zip(ids[:-1], ids[1:]):\n"
        "        counts[a, b] += 1\n"
        "    return counts\n" + _PROBS,
        # alpha in the numerator only
        _COUNTS + "\n\ndef bigram_probs(counts, previous_id, alpha):\n"
        "    row = counts[previous_id]\n"
        "    return (row + alpha) / max(row.sum(), 1)\n",
        # no smoothing at all (nan for an unseen token)
        _COUNTS + "\n\ndef bigram_probs(counts, previous_id, alpha):\n"
        "    row = counts[previous_id]\n"
        "    return row / row.sum()\n",
        # adds alpha to the caller's counts in place (the text says: do not change counts)
        _COUNTS + "\n\ndef bigram_probs(counts, previous_id, alpha):\n"
        "    counts[previous_id] += alpha\n"
        "    return counts[previous_id] / counts[previous_id].sum()\n",
        # the course's bigram model (forbidden)
        _COUNTS + "\n\nfrom course_lib.lm import BigramModel\n\n"
        "def bigram_probs(counts, previous_id, alpha):\n"
        "    return BigramModel(counts, alpha).next_word_probs(previous_id)\n",
    ],
    "evaluate": [
        # the probability of the true word instead of its negative log
        "def evaluate(next_probs, id_docs):\n"
        "    hits, scores = [], []\n"
        "    for ids in id_docs:\n"
        "        for t in range(1, len(ids)):\n"
        "            p = next_probs(ids[:t])\n"
        "            hits.append(np.argmax(p) == ids[t])\n"
        "            scores.append(p[ids[t]])\n"
        "    return float(np.mean(hits)), float(np.mean(scores))\n",
        # log base 2 (bits, not nats)
        "def evaluate(next_probs, id_docs):\n"
        "    hits, nlls = [], []\n"
        "    for ids in id_docs:\n"
        "        for t in range(1, len(ids)):\n"
        "            p = next_probs(ids[:t])\n"
        "            hits.append(np.argmax(p) == ids[t])\n"
        "            nlls.append(-np.log2(p[ids[t]]))\n"
        "    return float(np.mean(hits)), float(np.mean(nlls))\n",
        # forgets the <eos> prediction
        "def evaluate(next_probs, id_docs):\n"
        "    hits, nlls = [], []\n"
        "    for ids in id_docs:\n"
        "        for t in range(1, len(ids) - 1):\n"
        "            p = next_probs(ids[:t])\n"
        "            hits.append(np.argmax(p) == ids[t])\n"
        "            nlls.append(-np.log(p[ids[t]]))\n"
        "    return float(np.mean(hits)), float(np.mean(nlls))\n",
        # averages per document, then over documents
        "def evaluate(next_probs, id_docs):\n"
        "    accs, nlls = [], []\n"
        "    for ids in id_docs:\n"
        "        ps = [next_probs(ids[:t]) for t in range(1, len(ids))]\n"
        "        accs.append(np.mean([np.argmax(p) == ids[t] for t, p in zip(range(1, len(ids)), ps)]))\n"
        "        nlls.append(np.mean([-np.log(p[ids[t]]) for t, p in zip(range(1, len(ids)), ps)]))\n"
        "    return float(np.mean(accs)), float(np.mean(nlls))\n",
        # lets the model see the word it should predict
        "def evaluate(next_probs, id_docs):\n"
        "    hits, nlls = [], []\n"
        "    for ids in id_docs:\n"
        "        for t in range(1, len(ids)):\n"
        "            p = next_probs(ids[:t + 1])\n"
        "            hits.append(np.argmax(p) == ids[t])\n"
        "            nlls.append(-np.log(p[ids[t]]))\n"
        "    return float(np.mean(hits)), float(np.mean(nlls))\n",
    ],
}

ALTERNATIVES = {
    "encode": [
        "def encode(words, vocab):\n"
        "    ids = []\n"
        "    for w in words:\n"
        "        if w in vocab:\n"
        "            ids.append(vocab[w])\n"
        "        else:\n"
        "            ids.append(vocab['<unk>'])\n"
        "    return ids\n",
        "def encode(words, vocab):\n"
        "    out = []\n"
        "    for w in words:\n"
        "        try:\n"
        "            out.append(vocab[w])\n"
        "        except KeyError:\n"
        "            out.append(vocab['<unk>'])\n"
        "    return np.array(out, dtype=int)\n",
    ],
    "make_pairs": [
        "def make_pairs(token_ids, context_size, pad_id=0):\n"
        "    contexts, targets = [], []\n"
        "    for t in range(1, len(token_ids)):\n"
        "        window = list(token_ids[max(0, t - context_size):t])\n"
        "        contexts.append([pad_id] * (context_size - len(window)) + window)\n"
        "        targets.append(token_ids[t])\n"
        "    return contexts, targets\n",
        "def make_pairs(token_ids, context_size, pad_id=0):\n"
        "    ids = np.concatenate([np.full(context_size, pad_id), np.asarray(token_ids)])\n"
        "    windows = np.lib.stride_tricks.sliding_window_view(ids[1:-1], context_size)\n"
        "    return windows.copy(), ids[context_size + 1:]\n",
    ],
    "split_documents": [
        "def split_documents(docs, test_fraction, seed):\n"
        "    groups = {}\n"
        "    for doc in docs:\n"
        "        groups.setdefault(tuple(doc), []).append(doc)\n"
        "    keys = list(groups)\n"
        "    rng = np.random.default_rng(seed)\n"
        "    order = rng.permutation(len(keys))\n"
        "    n_test = int(np.ceil(test_fraction * len(keys)))\n"
        "    train, test = [], []\n"
        "    for rank, i in enumerate(order):\n"
        "        (test if rank < n_test else train).extend(groups[keys[i]])\n"
        "    return train, test\n",
        "def split_documents(docs, test_fraction, seed):\n"
        "    distinct = list(dict.fromkeys(tuple(d) for d in docs))\n"
        "    n_test = int(test_fraction * len(distinct))\n"
        "    chosen = set(random.Random(seed).sample(distinct, n_test))\n"
        "    test = [d for d in docs if tuple(d) in chosen]\n"
        "    train = [d for d in docs if tuple(d) not in chosen]\n"
        "    return train, test\n",
    ],
    "bigram": [
        "def bigram_counts(id_docs, vocab_size):\n"
        "    counts = np.zeros((vocab_size, vocab_size), dtype=int)\n"
        "    for ids in id_docs:\n"
        "        ids = np.asarray(ids)\n"
        "        np.add.at(counts, (ids[:-1], ids[1:]), 1)\n"
        "    return counts\n\n\n"
        "def bigram_probs(counts, previous_id, alpha):\n"
        "    V = counts.shape[1]\n"
        "    return (counts[previous_id] + alpha) / (counts[previous_id].sum() + alpha * V)\n",
        "from collections import Counter\n\n"
        "def bigram_counts(id_docs, vocab_size):\n"
        "    pairs = Counter()\n"
        "    for ids in id_docs:\n"
        "        for i in range(len(ids) - 1):\n"
        "            pairs[ids[i], ids[i + 1]] += 1\n"
        "    counts = np.zeros((vocab_size, vocab_size))\n"
        "    for (a, b), n in pairs.items():\n"
        "        counts[a][b] = n\n"
        "    return counts\n\n\n"
        "def bigram_probs(counts, previous_id, alpha):\n"
        "    row = [c + alpha for c in counts[previous_id]]\n"
        "    total = sum(row)\n"
        "    return np.array([c / total for c in row])\n",
    ],
    "evaluate": [
        "def evaluate(next_probs, id_docs):\n"
        "    correct, total_nll, n = 0, 0.0, 0\n"
        "    for ids in id_docs:\n"
        "        for t in range(1, len(ids)):\n"
        "            p = np.asarray(next_probs(list(ids[:t])))\n"
        "            correct += int(p.argmax() == ids[t])\n"
        "            total_nll -= np.log(p[ids[t]])\n"
        "            n += 1\n"
        "    return correct / n, total_nll / n\n",
        "import math\n\n"
        "def evaluate(next_probs, id_docs):\n"
        "    preds = [(next_probs(ids[:t]), ids[t]) for ids in id_docs for t in range(1, len(ids))]\n"
        "    accuracy = sum(max(range(len(p)), key=lambda i: p[i]) == y for p, y in preds) / len(preds)\n"
        "    mean_nll = sum(-math.log(p[y]) for p, y in preds) / len(preds)\n"
        "    return accuracy, mean_nll\n",
    ],
}
