#!/usr/bin/env python3
"""PyTorch calibration probe: the operations of LLM serving, as PyTorch runs them, labelled for Fathom.

Runs bf16 linear layers (and fp8 ones through torch._scaled_mm where the GPU has them) at the GEMM
shapes of Llama-3.1-8B and of Llama-3.1-70B split 8 ways, prefill and decode token counts, and
scaled-dot-product attention (FlashAttention backend where PyTorch has it for the shape) for
prefill and decode. Each timed repeat is one NVTX range named after docs/calibration.md's label
syntax, fathom:KIND[/NAME]:DTYPE:SHAPE, so that under the injection library

    fathom calib record --db h200.sqlite -- python3 scripts/calib_probe.py

every range becomes one measurement of the right kind, FLOPs and bytes, ready for `calib fit`.
Inputs rotate over enough copies to exceed four times the L2 cache, so that repeats read from HBM
as in a real model. Each repeat is also timed with CUDA events; --csv writes those medians so that
they can be compared with what CUPTI recorded.

    python3 scripts/calib_probe.py --list     # the labels, one per line; needs no PyTorch
"""
import argparse
import contextlib
import sys

# Model shapes: hidden size, query heads, KV heads, head dim, MLP width, vocabulary.
MODELS = {
    "llama-3.1-8b": dict(hidden=4096, heads=32, kv_heads=8, head_dim=128, ffn=14336, vocab=128256),
    "llama-3.1-70b": dict(hidden=8192, heads=64, kv_heads=8, head_dim=128, ffn=28672, vocab=128256),
}
PREFILL_TOKENS = [16, 128, 512, 2048, 8192]
DECODE_BATCHES = [1, 8, 32, 64, 128]
PREFILL_LENGTHS = [512, 1024, 2048, 4096, 8192]
DECODE_CONTEXTS = [1024, 4096, 16384]
DECODE_ATTN_BATCHES = [1, 8, 32, 64]
L2_BYTES = 50 * 2**20


def linear_shapes(model, tp):
    """(name, n, k) of a layer's linear layers and the LM head, split over tp GPUs (Megatron style)."""
    m = MODELS[model]
    qkv = (m["heads"] + 2 * m["kv_heads"]) * m["head_dim"] // tp
    return [
        ("qkv", qkv, m["hidden"]),
        ("o", m["hidden"], m["heads"] * m["head_dim"] // tp),
        ("gate_up", 2 * m["ffn"] // tp, m["hidden"]),
        ("down", m["hidden"], m["ffn"] // tp),
        ("lm_head", m["vocab"] // tp, m["hidden"]),
    ]


def plan():
    """Every operation: dicts with kind, label and shape fields. Deterministic order."""
    ops = []
    for model, tp in (("llama-3.1-8b", 1), ("llama-3.1-70b", 8)):
        for name, n, k in linear_shapes(model, tp):
            for tokens in sorted(set(PREFILL_TOKENS + DECODE_BATCHES)):
                if name == "lm_head" and tokens > 512:
                    continue  # the LM head runs on the last token of each sequence only
                for dtype in ("bf16", "fp8"):
                    if dtype == "fp8" and tokens % 16 != 0:
                        continue  # torch._scaled_mm wants every dimension a multiple of 16
                    ops.append(dict(kind="gemm", dtype=dtype, m=tokens, n=n, k=k, what=f"{model}/tp{tp}/{name}",
                                    label=f"fathom:gemm:{dtype}:m={tokens},n={n},k={k}"))
        mdl = MODELS[model]
        heads, kv_heads, d = mdl["heads"] // tp, max(1, mdl["kv_heads"] // tp), mdl["head_dim"]
        for s in PREFILL_LENGTHS:
            ops.append(dict(kind="attention", batch=1, heads=heads, kv_heads=kv_heads, q=s, kv=s, d=d, causal=1,
                            what=f"{model}/tp{tp}/prefill"))
        for b in DECODE_ATTN_BATCHES:
            for ctx in DECODE_CONTEXTS:
                ops.append(dict(kind="attention", batch=b, heads=heads, kv_heads=kv_heads, q=1, kv=ctx, d=d, causal=0,
                                what=f"{model}/tp{tp}/decode"))
    for op in ops:
        if op["kind"] == "attention":
            op["label"] = attention_label(op, op["kv_heads"])
    return ops


def attention_label(op, kv_heads):
    return (f"fathom:attention:bf16:batch={op['batch']},heads={op['heads']},kv_heads={kv_heads},"
            f"q={op['q']},kv={op['kv']},d={op['d']},causal={op['causal']}")


def median(xs):
    xs = sorted(xs)
    n = len(xs)
    return xs[n // 2] if n % 2 else 0.5 * (xs[n // 2 - 1] + xs[n // 2])


class Runner:
    def __init__(self, torch, repeats, warmup):
        self.torch, self.repeats, self.warmup = torch, repeats, warmup
        self.nvtx = torch.cuda.nvtx
        self.fp8 = hasattr(torch, "_scaled_mm") and torch.cuda.get_device_capability() >= (8, 9)

    def copies(self, nbytes):
        """How many input copies to rotate through so that they span four L2 caches."""
        return max(1, min(64, -(-4 * L2_BYTES // max(1, nbytes))))

    def timed(self, label, fn, n_inputs):
        """Warm-up, then `repeats` runs, each in its own NVTX range and between two CUDA events."""
        torch = self.torch
        for i in range(self.warmup):
            fn(i % n_inputs)
        events = [(torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True))
                  for _ in range(self.repeats)]
        for i, (start, end) in enumerate(events):
            self.nvtx.range_push(label)
            start.record()
            fn((self.warmup + i) % n_inputs)
            end.record()
            self.nvtx.range_pop()
        torch.cuda.synchronize()
        return median([s.elapsed_time(e) * 1e-3 for s, e in events])

    def gemm(self, op):
        torch = self.torch
        m, n, k = op["m"], op["n"], op["k"]
        if op["dtype"] == "fp8":
            if not self.fp8:
                return None, "no fp8 on this GPU or PyTorch", op["label"]
            count = self.copies(m * k + n * k)
            xs = [torch.randn(m, k, device="cuda").to(torch.float8_e4m3fn) for _ in range(count)]
            ws = [torch.randn(n, k, device="cuda").to(torch.float8_e4m3fn) for _ in range(count)]
            one = torch.ones((), device="cuda")
            fn = lambda i: torch._scaled_mm(xs[i], ws[i].t(), scale_a=one, scale_b=one, out_dtype=torch.bfloat16)
        else:
            count = self.copies(2 * (m * k + n * k))
            xs = [torch.randn(m, k, device="cuda", dtype=torch.bfloat16) for _ in range(count)]
            ws = [torch.randn(n, k, device="cuda", dtype=torch.bfloat16) for _ in range(count)]
            fn = lambda i: torch.nn.functional.linear(xs[i], ws[i])
        return self.timed(op["label"], fn, count), "", op["label"]

    def attention(self, op):
        torch = self.torch
        F = torch.nn.functional
        b, h, hk, q, kv, d = op["batch"], op["heads"], op["kv_heads"], op["q"], op["kv"], op["d"]
        count = self.copies(2 * b * d * (2 * h * q + 2 * hk * kv))
        qs = [torch.randn(b, h, q, d, device="cuda", dtype=torch.bfloat16) for _ in range(count)]
        ks = [torch.randn(b, hk, kv, d, device="cuda", dtype=torch.bfloat16) for _ in range(count)]
        vs = [torch.randn(b, hk, kv, d, device="cuda", dtype=torch.bfloat16) for _ in range(count)]
        causal = bool(op["causal"])  # prefill only, where q == kv and both alignments agree
        try:
            from torch.nn.attention import SDPBackend, sdpa_kernel
        except ImportError:
            sdpa_kernel = None
        # Grouped-query attention natively where this PyTorch and backend take it; else K and V
        # are expanded to every query head first (outside the timed range), and the label counts
        # the expanded K and V, which is what the kernel then reads.
        attempts = [("flash, gqa", True, True), ("flash, expanded kv", True, False),
                    ("default backend, expanded kv", False, False)]
        why = []
        for how, flash, gqa in attempts:
            if flash and sdpa_kernel is None:
                continue
            native = gqa or hk == h
            kk = ks if native else [x.repeat_interleave(h // hk, dim=1) for x in ks]
            vv = vs if native else [x.repeat_interleave(h // hk, dim=1) for x in vs]
            extra = dict(enable_gqa=True) if gqa and hk != h else {}
            fn = lambda i: F.scaled_dot_product_attention(qs[i], kk[i], vv[i], is_causal=causal, **extra)
            label = attention_label(op, hk if native else h)
            try:
                with (sdpa_kernel([SDPBackend.FLASH_ATTENTION]) if flash else contextlib.nullcontext()):
                    fn(0)
                    torch.cuda.synchronize()
                    return self.timed(label, fn, count), how, label
            except (RuntimeError, TypeError) as e:
                why.append(f"{how}: {(str(e).splitlines() or [''])[0][:120]}")
        return None, "; ".join(why), op["label"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--list", action="store_true", help="print the labels and exit (no PyTorch needed)")
    ap.add_argument("--repeats", type=int, default=15, help="timed repeats per operation (default 15)")
    ap.add_argument("--warmup", type=int, default=3, help="untimed runs first (default 3)")
    ap.add_argument("--csv", help="write label, CUDA-event median seconds and notes to this file")
    args = ap.parse_args()
    ops = plan()
    if args.list:
        for op in ops:
            print(op["label"])
        return 0
    if args.repeats < 1 or args.warmup < 0:
        print("calib_probe.py: --repeats: expected at least 1 (and --warmup at least 0)", file=sys.stderr)
        return 2
    try:
        import torch
    except ImportError as e:
        print(f"calib_probe.py: expected PyTorch (import torch), found none: {e}", file=sys.stderr)
        return 3
    if not torch.cuda.is_available():
        print("calib_probe.py: expected a CUDA GPU visible to PyTorch, found none", file=sys.stderr)
        return 3
    # CUDA starts here, before the first NVTX range: the injection library points NVTX at its
    # CUPTI while CUDA initialises, and NVTX reads that at its first call.
    torch.cuda.init()
    torch.empty(1, device="cuda")
    torch.manual_seed(0)
    torch.backends.cuda.matmul.allow_tf32 = False
    print(f"calib_probe: PyTorch {torch.__version__}, CUDA {torch.version.cuda}, {torch.cuda.get_device_name()}, "
          f"{len(ops)} operations, {args.repeats} repeats", flush=True)
    runner = Runner(torch, args.repeats, args.warmup)
    rows, failed = [], 0
    for op in ops:
        try:
            t, note, label = runner.gemm(op) if op["kind"] == "gemm" else runner.attention(op)
        except (RuntimeError, TypeError, ValueError) as e:  # a shape this PyTorch refuses, out of memory, ...
            t, note, label = None, (str(e).splitlines() or [type(e).__name__])[0][:200], op["label"]
        if t is None:
            failed += 1
            print(f"calib_probe: skipped {op['label']} ({op['what']}): {note}", flush=True)
        rows.append((label, t, op["what"], note))
        torch.cuda.empty_cache()
    if args.csv:
        with open(args.csv, "w") as f:
            f.write("label,event_median_s,what,note\n")
            for label, t, what, note in rows:
                f.write(f"\"{label}\",{'' if t is None else repr(t)},{what},\"{note}\"\n")
    done = sum(1 for r in rows if r[1] is not None)
    print(f"calib_probe: {done} operations timed, {failed} skipped", flush=True)
    return 0 if done > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
