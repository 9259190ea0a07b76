"""The study's 30 architectures (experiments 1-5) and the CfC extension (experiment 6), as data.

Each line is one model: name, encoder, head. The heads are spelled with the
shorthands of `keras_lnn.models.blocks` (`docs/architectures.md` has the prose):
`cnn(120, 84)` is the per-slice CNN head 120-84-1, `liquid(auto(21))` an LTC with
an AutoNCP(21, 1) wiring, `liquid(cfc(21))` a CfC with the same wiring,
`recurrent("lstm", 40)` an LSTM baseline. Table 1's parameter counts come from the
packaged paper tables. `ARCHITECTURES` holds them all, in order;
`keras_lnn.models.registry` registers them by name.
"""
from keras_lnn import paper
from keras_lnn.models.blocks import (
    MEAN, OUT, RELU, Architecture, BatchNorm, Dense, Dropout, auto, cfc, cnn, full, liquid, recurrent,
)

_D = Dropout(0.2)

PAPER_EXPERIMENTS = {
    "exp1": [
        ("CNNExp1N1", "E2", cnn(120, 84)),
        ("LiqExp1N2", "E2", liquid(auto(21))),
        ("CNNExp1N3", "E2", cnn(120, 84)),  # the paper's independent second run of CNNExp1N1
        ("CNNExp1N4", "E2", cnn(60, 42)),
        ("LiqExp1N5", "E2", liquid(auto(21, 14), auto(7))),
        ("LiqExp1N6", "E2", liquid(auto(30))),
    ],
    "exp2": [
        ("CNNExp2N1", "E2", cnn(128, 128, 64, 32)),
        ("LiqExp2N2", "E2", liquid(full(21))),
        ("CNNExp2N3", "E2", cnn(256, 64)),
        ("CNNExp2N4", "E2", cnn(30, 21)),
        ("LiqExp2N5", "E2", liquid(full(21, 14), full(7))),
        ("LiqExp2N6", "E2", liquid(full(30))),
    ],
    "exp3": [
        ("CNNExp3N1", "E2", cnn(120, 84, dropout=0.2)),
        ("LiqExp3N2", "E2", (_D, Dense(256, "relu"), *liquid(auto(21)))),
        ("LiqExp3N3", "E2", (BatchNorm(), _D, *liquid(auto(21)))),
        ("LiqExp3N4", "E2", (_D, *liquid(auto(21)))),
        ("LiqExp3N5", "E2", (*liquid(auto(21, 14)), Dense(OUT))),
        ("CNNExp3N6", "E2", (_D, Dense(120, "relu"), _D, Dense(84), MEAN, RELU, _D, Dense(OUT))),
    ],
    "exp4": [
        ("CNNExp4N1", "E4a", cnn(64, 32)),
        ("LiqExp4N2", "E4a", liquid(auto(21))),
        ("CNNExp4N3", "E4b", cnn(120, 84)),
        ("CNNExp4N4", "E4b", cnn(60, 42)),
        ("LiqExp4N5", "E4a", liquid(auto(21, 14), auto(7))),
        ("LiqExp4N6", "E4b", liquid(auto(21))),
    ],
    "exp5": [
        ("LiqExp5N1", "E2", liquid(auto(5))),
        ("LSTMExp5N2", "E2", recurrent("lstm", 40)),
        ("LSTMExp5N3", "E2", recurrent("lstm", 40, OUT, dense_out=False)),
        ("LSTMExp5N4", "E2", recurrent("lstm", 40, 40)),
        ("RNNExp5N5", "E2", recurrent("rnn", 40)),
        ("RNNExp5N6", "E2", recurrent("rnn", 40, 40)),
    ],
}

_TABLE1 = paper.table1_parameters()


# Experiment 6 (beyond the paper): closed-form continuous-time (CfC) cells and LTC with
# mixed memory in place of the paper's LTC heads, each paired with one LTC model of exp1-exp4
# that has the same encoder and wiring, so the pair isolates the change of recurrent cell.
EXTENSION_EXPERIMENTS = {
    "exp6": [
        ("CfcExp6N1", "E2", liquid(cfc(21)), "LiqExp1N2", "CfC with AutoNCP(21, 1) in place of LiqExp1N2's LTC"),
        ("CfcExp6N2", "E2", liquid(cfc(21, wiring="full")), "LiqExp2N2",
         "CfC with FullyConnected(21, 1) in place of LiqExp2N2's LTC"),
        ("CfcExp6N3", "E2", (_D, *liquid(cfc(21))), "LiqExp3N4", "Dropout 0.2, then CfC AutoNCP(21, 1): LiqExp3N4 with a CfC"),
        ("CfcExp6N4", "E4b", liquid(cfc(21)), "LiqExp4N6", "E4b encoder and CfC AutoNCP(21, 1): LiqExp4N6 with a CfC"),
        ("LiqExp6N5", "E2", liquid(auto(21, mixed_memory=True)), "LiqExp1N2",
         "LTC AutoNCP(21, 1) with ncps's mixed memory (an LSTM-style memory cell): LiqExp1N2 with memory"),
        ("LiqExp6N6", "E4b", liquid(auto(21, mixed_memory=True)), "LiqExp4N6",
         "LTC AutoNCP(21, 1) with mixed memory on the E4b encoder: LiqExp4N6 with memory"),
    ],
}

# Diagnostics, not baselines: the paper's five exp5 recurrent baselines as its code ran them,
# recurring over the 64 volumes of a mini-batch instead of a volume's 28 slices
# (`keras_lnn.layers.AcrossBatch` says how). They measure what that defect did to the paper's
# Table 2 and to its claim that LTC beats LSTM/RNN; `all` and `paper` leave them out.
DIAGNOSTIC_EXPERIMENTS = {
    "exp5-across-batch": [
        (f"{name}AcrossBatch", "E2", recurrent(kind, *units, dense_out=dense_out, across_batch=True), name)
        for name, kind, units, dense_out in (
            ("LSTMExp5N2", "lstm", (40,), True),
            ("LSTMExp5N3", "lstm", (40, OUT), False),
            ("LSTMExp5N4", "lstm", (40, 40), True),
            ("RNNExp5N5", "rnn", (40,), True),
            ("RNNExp5N6", "rnn", (40, 40), True),
        )
    ],
}

ARCHITECTURES = (
    *(Architecture(name, experiment, encoder, head, paper_params=_TABLE1[name])
      for experiment, rows in PAPER_EXPERIMENTS.items() for name, encoder, head in rows),
    *(Architecture(name, experiment, encoder, head, note=f"pairs with {pair}: {prose}", pairs_with=pair)
      for experiment, rows in EXTENSION_EXPERIMENTS.items() for name, encoder, head, pair, prose in rows),
    *(Architecture(name, experiment, encoder, head, reproduces=paper_model,
                   note=f"diagnostic, not a baseline: {paper_model} recurring across the volumes of its batch, "
                        "as the paper's code ran it")
      for experiment, rows in DIAGNOSTIC_EXPERIMENTS.items() for name, encoder, head, paper_model in rows),
)
