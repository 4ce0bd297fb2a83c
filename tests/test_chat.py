"""Tests of course_lib.chat: chat data in the course language and answer grading."""

from __future__ import annotations

import pytest
import torch

from course_lib import chat, corpus
from course_lib.finetune import IGNORE_INDEX
from course_lib.gpt import GPT, GPTConfig
from course_lib.tokens import Vocab

VOCAB = Vocab(["<pad>", "<unk>", "<bos>", "<eos>", *corpus.vocabulary()])


def test_every_chat_word_is_a_word_of_the_language():
    words = set(corpus.vocabulary())
    for country in corpus.COUNTRIES:
        for style in chat.STYLES:
            assert set(chat.question(country) + chat.answer(country, style)) <= words
        assert set(chat.few_shot_prompt(country)) <= words


def test_countries_split_into_sft_and_heldout():
    assert set(chat.SFT_COUNTRIES).isdisjoint(chat.HELDOUT_COUNTRIES)
    assert set(chat.SFT_COUNTRIES) | set(chat.HELDOUT_COUNTRIES) == set(corpus.COUNTRIES)
    assert not set(chat.FEW_SHOT_COUNTRIES) & set(chat.HELDOUT_COUNTRIES)


def test_the_base_model_language_follows_a_question_with_a_question():
    assert set(corpus.next_word_probs(chat.question("Japan"))) == {"What", "Which"}


def test_sft_examples_mask_the_question():
    examples = chat.sft_examples(VOCAB, countries=["France"], styles=["terse", "full"])
    assert len(examples) == 2
    inputs, targets = examples[0]
    prompt_len = 1 + len(chat.question("France"))
    assert VOCAB.decode(inputs[:prompt_len]) == ["<bos>"] + chat.question("France")
    assert torch.all(targets[: prompt_len - 1] == IGNORE_INDEX)
    assert VOCAB.decode(targets[prompt_len - 1:]) == ["Paris", ".", "<eos>"]


def test_preference_pairs_put_truth_first_then_format_and_stay_in_their_group():
    countries = ["Peru", "Chile", "Cuba"]
    pairs = chat.preference_pairs(countries, wrong_per_country=2, seed=3)
    assert len(pairs) == 3 * 2 * len(chat.PAIRINGS)
    allowed = {corpus.COUNTRIES[c] for c in countries}
    for p in pairs:
        chosen, rejected = p.pairing
        assert chat.kind_of_answer(p.country, p.chosen) == chosen
        assert chat.kind_of_answer(p.country, p.rejected) == rejected
        assert chat.is_correct(p.country, p.chosen)           # truth first: the chosen is always right
        if chat.is_correct(p.country, p.rejected):             # then format
            assert chat.is_preferred(p.country, p.chosen) and not chat.is_preferred(p.country, p.rejected)
        assert {w for w in p.rejected if w in chat.CAPITALS} <= allowed
    # every pairing appears, including a right short answer over a wrong full one
    assert {p.pairing for p in pairs} == set(chat.PAIRINGS)
    assert ("right short", "wrong full") in chat.PAIRINGS
    assert ("right short", "wrong full") not in chat.BEST_VERSUS_REST
    first = chat.preference_pairs(countries, wrong_per_country=2, seed=3, pairings=chat.BEST_VERSUS_REST)
    assert len(first) == 3 * 2 * 3 and all(chat.is_preferred(p.country, p.chosen) for p in first)
    with pytest.raises(ValueError):
        chat.preference_pairs(countries, pairings=[("wrong full", "wrong short")])
    assert pairs == chat.preference_pairs(countries, wrong_per_country=2, seed=3)
    chosen, rejected = chat.pair_sequences(VOCAB, pairs)[0]
    assert chosen[0] == VOCAB.bos_id and chosen[-1] == VOCAB.eos_id
    (c_in, c_tg), (r_in, r_tg) = chat.pair_examples(VOCAB, pairs)[0]
    assert torch.equal(c_in[:8], r_in[:8])


def test_grading_answers():
    assert chat.is_correct("Japan", "Tokyo .".split())
    assert chat.is_correct("Japan", "The capital is Tokyo .".split())
    assert chat.is_correct("Japan", "Tokyo . Q : What is the capital of Peru ? A : Lima".split())
    assert not chat.is_correct("Japan", "Lima .".split())
    assert not chat.is_correct("Japan", "What is the capital of Peru ?".split())
    assert chat.is_preferred("Japan", "The capital is Tokyo .".split())
    assert not chat.is_preferred("Japan", "The capital is Lima .".split())
    assert not chat.is_preferred("Japan", "Tokyo .".split())
    assert chat.is_question("What is the capital of Peru ?".split())
    rates = chat.rates(["Japan"], [["Tokyo .".split(), "What is".split()]])
    assert rates == {"correct": 0.5, "preferred": 0.0, "question": 0.5, "wrong_full": 0.0}
    assert chat.is_wrong_full("Japan", "The capital is Vienna .".split())
    assert not chat.is_wrong_full("Japan", "Vienna .".split())
    assert not chat.is_wrong_full("Japan", "The capital is Tokyo .".split())
    by_country = chat.rates_by_country(["Japan", "Peru"], [["Tokyo .".split()],
                                                          ["The capital is Rome .".split()]])
    assert by_country["Japan"]["correct"] == 1.0 and by_country["Peru"]["wrong_full"] == 1.0


def test_answer_kinds_round_trip():
    for kind in chat.ANSWER_KINDS:
        words = chat.answer_of_kind("Japan", kind, wrong="Lima")
        assert chat.kind_of_answer("Japan", words) == kind
    assert chat.kind_of_answer("Japan", "The capital is head to".split()) is None
    assert chat.kind_of_answer("Japan", "What is the capital of Peru ?".split()) is None


def test_ask_returns_answers_per_prompt_without_eos():
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=len(VOCAB), block_size=24, n_layer=1, n_head=2, n_embd=16))
    prompts = [chat.question(c) for c in ("Japan", "Peru", "Chile")]
    answers = chat.ask(model, VOCAB, prompts, samples=4, max_new_tokens=5, seed=0)
    assert len(answers) == 3 and all(len(group) == 4 for group in answers)
    assert all("<eos>" not in a and len(a) <= 5 for group in answers for a in group)
    assert answers == chat.ask(model, VOCAB, prompts, samples=4, max_new_tokens=5, seed=0)
    assert chat.question_batch(VOCAB, ["Japan", "Peru"]).shape == (2, 8)
