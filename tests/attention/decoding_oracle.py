"""Oracle for tests/attention/decoding.cpp: the decoder-only models of tools/reference — GPT-2
style (pre-LayerNorm, GELU-tanh MLP, learned positions, tied embedding) and LLaMA style
(RMSNorm, RoPE, SwiGLU, grouped-query attention: 6 query heads, 2 key/value heads) — at odd
sizes (D = 72, 6 heads, 2 layers, vocabularies 97 and 101), on a batch of 3 token sequences of
37 with different lengths (padding masked as keys). Outputs: the logits of every position, the
modules in float64 from the float32 weights."""
import torch

from mmm_oracle import Oracle
from reference.decoder_blocks import GPT2, Llama

D, H, T, N = 72, 6, 37, 3

with Oracle("attention.decoding") as o:
    g = torch.Generator().manual_seed(o.seed)

    def randomize(m):
        with torch.no_grad():
            for name, p in m.named_parameters():
                if ("ln" in name or "norm" in name) and name.endswith("weight"):
                    p.copy_(1 + 0.2 * torch.randn(p.shape, generator=g))
                elif "wte" in name or "embed_tokens" in name or "wpe" in name:
                    p.copy_(torch.randn(p.shape, generator=g) * 0.5)
                else:
                    p.copy_(torch.randn(p.shape, generator=g) * (1.0 / p.shape[-1] ** 0.5 if p.dim() > 1 else 0.2))
        return m

    lengths = torch.randint(1, T + 1, (N,), generator=g).to(torch.int32)
    lengths[0] = T
    padding = torch.arange(T)[None, :] >= lengths[:, None].long()
    for case, model, vocab in [("gpt2", GPT2(97, 64, D, H, 2), 97), ("llama", Llama(101, D, H, 2, 120, 2), 101)]:
        randomize(model)
        tokens = torch.randint(0, vocab, (N, T), generator=g)
        logits = model.double()(tokens, padding).detach().float()
        o.save(case, model.state_dict(), inputs={"tokens": tokens.to(torch.int32), "lengths": lengths},
               outputs={"logits": logits})
