"""Oracle for tests/sequence: torch.nn.LSTM, GRU and RNN (batch_first) on fresh random
weights and inputs, with variable lengths through pack_padded_sequence (outputs past an
item's end are 0, its final state is at its last step, the reverse direction starts
there), given initial states, bfloat16 weights, Linear, the poolers, and a real-time
LSTM(1→H) + Linear(H→1). Sizes are the C++ side's template parameters: In = 37,
Hidden = 53, proj_size = 17. Each case saves the weights (model.*), x, lengths (int32),
h0/c0 when given, and y, h_n, c_n.

The float32 cases' expected outputs come from the same torch module run in float64 (the
weights and inputs are float32 values): three layers of float32 rounding in torch's own
path would otherwise take a fair share of the 1e-4 bound. The bfloat16 cases compare with
torch's float32 module, as a bf16 model is compared with the float32 model it replaces."""
import copy

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from mmm_oracle import Oracle

IN, HIDDEN, PROJ = 37, 53, 17

with Oracle("sequence") as o:
    g = torch.Generator().manual_seed(o.seed)

    def randint(lo, hi):
        return int(torch.randint(lo, hi + 1, (1,), generator=g))

    def lengths_for(batch, steps):
        """Mixed lengths: the longest, a length-1 item, the rest at random."""
        if batch == 1:
            return [steps]
        lengths = [steps, 1] + [randint(1, steps) for _ in range(batch - 2)]
        perm = torch.randperm(batch, generator=g).tolist()
        return [lengths[i] for i in perm]

    def run(module, x, lengths, h0, c0):
        states = None
        if h0 is not None:
            states = (h0, c0) if isinstance(module, nn.LSTM) else h0
        packed = pack_padded_sequence(x, torch.tensor(lengths), batch_first=True, enforce_sorted=False)
        out, final = module(packed, states)
        y, _ = pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])
        if isinstance(module, nn.LSTM):
            return y, final[0], final[1]
        return y, final, None

    def case(name, module, batch, initial=True, weights=None, scale=1.0, float64=True):
        module.eval()
        steps = randint(5, 12)
        lengths = lengths_for(batch, steps)
        x = torch.randn(batch, steps, module.input_size) * scale
        slots = module.num_layers * (2 if module.bidirectional else 1)
        state = module.proj_size if isinstance(module, nn.LSTM) and module.proj_size else module.hidden_size
        h0 = torch.randn(slots, batch, state) * 0.5 if initial else None
        c0 = torch.randn(slots, batch, module.hidden_size) * 0.5 if initial and isinstance(module, nn.LSTM) else None
        with torch.no_grad():
            if float64:
                y, h_n, c_n = run(copy.deepcopy(module).double(), x.double(), lengths,
                                  None if h0 is None else h0.double(), None if c0 is None else c0.double())
                y, h_n = y.float(), h_n.float()
                c_n = None if c_n is None else c_n.float()
            else:
                y, h_n, c_n = run(module, x, lengths, h0, c0)
        inputs = {"x": x, "lengths": torch.tensor(lengths, dtype=torch.int32)}
        if h0 is not None:
            inputs["h0"] = h0
        if c0 is not None:
            inputs["c0"] = c0
        outputs = {"y": y, "h_n": h_n}
        if c_n is not None:
            outputs["c_n"] = c_n
        o.save(name, weights if weights is not None else module.state_dict(), inputs=inputs, outputs=outputs)

    # float32 parity: 1-3 layers, uni- and bidirectional, proj_size, bias=False, both batches.
    case("lstm_l1", nn.LSTM(IN, HIDDEN, batch_first=True), 5, initial=False)
    case("lstm_l2", nn.LSTM(IN, HIDDEN, num_layers=2, batch_first=True), 5)
    case("lstm_l2_bi", nn.LSTM(IN, HIDDEN, num_layers=2, bidirectional=True, batch_first=True), 5)
    case("lstm_l3_proj", nn.LSTM(IN, HIDDEN, num_layers=3, proj_size=PROJ, batch_first=True), 1)
    case("lstm_bi_proj", nn.LSTM(IN, HIDDEN, bidirectional=True, proj_size=PROJ, batch_first=True), 5)
    case("gru_l2_bi", nn.GRU(IN, HIDDEN, num_layers=2, bidirectional=True, batch_first=True), 5)
    case("gru_l1_nobias", nn.GRU(IN, HIDDEN, bias=False, batch_first=True), 1)
    case("gru_l3", nn.GRU(IN, HIDDEN, num_layers=3, batch_first=True), 5)
    case("rnn_l3_tanh", nn.RNN(IN, HIDDEN, num_layers=3, batch_first=True), 5)
    case("rnn_relu_bi", nn.RNN(IN, HIDDEN, nonlinearity="relu", bidirectional=True, batch_first=True), 5,
         initial=False)

    # bfloat16 weights: the model computed by torch in float32 with the float32 weights (what
    # a bf16 model is compared against), saved once as float32 and once as bfloat16 tensors.
    lstm = nn.LSTM(IN, HIDDEN, num_layers=2, bidirectional=True, batch_first=True)
    case("lstm_bf16", lstm, 5, float64=False)
    bf16_weights = {k: v.to(torch.bfloat16) for k, v in lstm.state_dict().items()}
    rounded = nn.LSTM(IN, HIDDEN, num_layers=2, bidirectional=True, batch_first=True)
    rounded.load_state_dict({k: v.float() for k, v in bf16_weights.items()})
    case("lstm_bf16_file", rounded, 5, weights=bf16_weights, float64=False)
    case("gru_bf16", nn.GRU(IN, HIDDEN, num_layers=2, batch_first=True), 5, float64=False)
    case("lstm_proj_bf16", nn.LSTM(IN, HIDDEN, proj_size=PROJ, batch_first=True), 5, float64=False)

    for name, (fan_in, fan_out, batch) in {"linear_bf16": (IN, 129, 3), "linear_bf16_1": (300, 70, 1)}.items():
        m = nn.Linear(fan_in, fan_out)
        x = torch.randn(batch, fan_in)
        with torch.no_grad():
            o.save(name, m.state_dict(), inputs={"x": x}, outputs={"y": m(x)})

    # The real-time case: LSTM(1→H) or GRU(1→H), then Linear(H→1), one sample at a time
    # (H = 8, 24: 8-float groups; 13: one partial 16-float group; 16, 32: whole ones).
    for kind, hidden in (("lstm", 8), ("lstm", 13), ("lstm", 24), ("lstm", 32), ("gru", 8), ("gru", 13), ("gru", 16),
                         ("gru", 24)):
        rnn = (nn.LSTM if kind == "lstm" else nn.GRU)(1, hidden, batch_first=True)
        dense = nn.Linear(hidden, 1)
        x = torch.randn(1, 300, 1)
        with torch.no_grad():
            y = copy.deepcopy(dense).double()(copy.deepcopy(rnn).double()(x.double())[0]).float()
        weights = {f"rnn.{k}": v for k, v in rnn.state_dict().items()}
        weights.update({f"dense.{k}": v for k, v in dense.state_dict().items()})
        o.save(f"realtime_{kind}_{hidden}", weights, inputs={"x": x}, outputs={"y": y})

    # Poolers over each item's valid steps (a length-1 item among them).
    steps = randint(4, 9)
    lengths = lengths_for(5, steps)
    x = torch.randn(5, steps, IN)
    valid = [x[b, :lengths[b]] for b in range(5)]
    o.save("pooling", inputs={"x": x, "lengths": torch.tensor(lengths, dtype=torch.int32)},
           outputs={"max": torch.stack([v.max(dim=0).values for v in valid]),
                    "mean": torch.stack([v.mean(dim=0) for v in valid]),
                    "last": torch.stack([v[-1] for v in valid])})
