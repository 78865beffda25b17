#!/usr/bin/env python3
"""Writes torch_trace_small.json: a hand-built trace in the layout torch.profiler (PyTorch 2.x,
Kineto) exports with activities=[CPU, CUDA] and record_shapes=True. Standard library only,
deterministic. Run from this folder: python3 make_torch_trace.py

Three profiler steps of one Llama-style block in bf16 (batch 2, sequence 256, hidden 2048,
16 query heads and 4 KV heads of 128, FFN 5632) on an H100:
  rms_norm (composite: pow, mean, add_, rsqrt, mul, mul_ kernels), qkv linear (mm 512x3072x2048),
  SDPA -> flash (causal, GQA), o_proj linear (mm 512x2048x2048), residual add, rms_norm,
  gate_up linear with bias (addmm 512x11264x2048), silu, mul, down_proj linear (mm 512x2048x5632,
  split-K: a GEMM and a reduction kernel), residual add, bf16 -> fp32 copy_, argmax (not
  recognised), an input-id copy done by cudaMemcpy (no kernel), and an NCCL kernel launched from a
  thread without CPU ops (unmatched).
Kernel durations are listed per call below; tests/calib/torch_trace_test.cpp checks their medians.
Times are written with three decimals of microseconds, as Kineto does.
"""
import json

BASE_US = 1727000000100000  # ts of the first event, microseconds
PID, TID, SIDE_TID = 2154, 2154, 2201
BF16, F32, I64 = "c10::BFloat16", "float", "long int"

# Kernel durations in ns, one entry per call in trace order.
DUR = {
    "qkv": [41216, 40832, 41024],
    "flash": [52480, 52992, 52736],
    "o_proj": [27904, 28032, 27968],
    "add": [6112, 6080, 6144, 6176, 6048, 6208],
    "addmm": [139776, 140224, 139904],
    "silu": [9856, 9792, 9920],
    "mul": [10016, 10080, 9984],
    "splitk_gemm": [30080, 30336, 29952],
    "splitk_reduce": [2944, 3008, 2976],
    "copy": [4352, 4288, 4320],
    "argmax": [12544, 12608, 12512],
    "nccl": [20480, 21504, 19968],
}
# rms_norm children; call c (0..5) adds 100 ns * c to pow, so the instance totals are
# 18.8, 18.9, ..., 19.3 us.
RMS_CHILD_NS = [("pow", 3200), ("mean", 4800), ("add_", 2100), ("rsqrt", 2000), ("mul", 3300), ("mul_", 3400)]

K = {
    "pow": "void at::native::vectorized_elementwise_kernel<4, at::native::(anonymous namespace)::pow_tensor_scalar_kernel_impl<c10::BFloat16, float>(at::TensorIteratorBase&, float)::{lambda(c10::BFloat16)#1}, at::detail::Array<char*, 2> >(int, at::native::(anonymous namespace)::pow_tensor_scalar_kernel_impl<c10::BFloat16, float>(at::TensorIteratorBase&, float)::{lambda(c10::BFloat16)#1}, at::detail::Array<char*, 2>)",
    "mean": "void at::native::reduce_kernel<512, 1, at::native::ReduceOp<c10::BFloat16, at::native::MeanOps<c10::BFloat16, float, float, c10::BFloat16>, unsigned int, c10::BFloat16, 4, 4> >(at::native::ReduceOp<c10::BFloat16, at::native::MeanOps<c10::BFloat16, float, float, c10::BFloat16>, unsigned int, c10::BFloat16, 4, 4>)",
    "add_": "void at::native::vectorized_elementwise_kernel<4, at::native::CUDAFunctorOnSelf_add<c10::BFloat16>, at::detail::Array<char*, 2> >(int, at::native::CUDAFunctorOnSelf_add<c10::BFloat16>, at::detail::Array<char*, 2>)",
    "rsqrt": "void at::native::vectorized_elementwise_kernel<4, at::native::rsqrt_kernel_cuda(at::TensorIteratorBase&)::{lambda()#2}::operator()() const::{lambda()#3}::operator()() const::{lambda(c10::BFloat16)#1}, at::detail::Array<char*, 2> >(int, at::native::rsqrt_kernel_cuda(at::TensorIteratorBase&)::{lambda()#2}::operator()() const::{lambda()#3}::operator()() const::{lambda(c10::BFloat16)#1}, at::detail::Array<char*, 2>)",
    "mul": "void at::native::elementwise_kernel<128, 2, at::native::gpu_kernel_impl_nocast<at::native::BinaryFunctor<c10::BFloat16, c10::BFloat16, c10::BFloat16, at::native::binary_internal::MulFunctor<float> > >(at::TensorIteratorBase&, at::native::BinaryFunctor<c10::BFloat16, c10::BFloat16, c10::BFloat16, at::native::binary_internal::MulFunctor<float> > const&)::{lambda(int)#1}>(int, at::native::gpu_kernel_impl_nocast<at::native::BinaryFunctor<c10::BFloat16, c10::BFloat16, c10::BFloat16, at::native::binary_internal::MulFunctor<float> > >(at::TensorIteratorBase&, at::native::BinaryFunctor<c10::BFloat16, c10::BFloat16, c10::BFloat16, at::native::binary_internal::MulFunctor<float> > const&)::{lambda(int)#1})",
    "vmul": "void at::native::vectorized_elementwise_kernel<4, at::native::BinaryFunctor<c10::BFloat16, c10::BFloat16, c10::BFloat16, at::native::binary_internal::MulFunctor<float> >, at::detail::Array<char*, 3> >(int, at::native::BinaryFunctor<c10::BFloat16, c10::BFloat16, c10::BFloat16, at::native::binary_internal::MulFunctor<float> >, at::detail::Array<char*, 3>)",
    "gemm_128": "sm90_xmma_gemm_bf16bf16_bf16f32_f32_tn_n_tilesize128x128x64_warpgroupsize1x1x1_execute_segment_k_off_kernel__5x_cublas",
    "gemm_256": "sm90_xmma_gemm_bf16bf16_bf16f32_f32_tn_n_tilesize128x256x64_warpgroupsize2x1x1_execute_segment_k_off_kernel__5x_cublas",
    "gemm_splitk": "sm90_xmma_gemm_bf16bf16_bf16f32_f32_tn_n_tilesize64x128x64_warpgroupsize1x1x1_splitk_execute_segment_k_off_kernel__5x_cublas",
    "splitk_reduce": "void cublasLt::splitKreduce_kernel<32, 16, int, float, __nv_bfloat16, float, __nv_bfloat16, float, __nv_bfloat16, true, false, false>(cublasLt::cublasSplitKParams<float>, float const*, __nv_bfloat16 const*, __nv_bfloat16*, float const*, float const*, __nv_bfloat16 const*, __nv_bfloat16 const*, __nv_bfloat16*, void*, long, float*, int*)",
    "flash": "void pytorch_flash::flash_fwd_kernel<Flash_fwd_kernel_traits<128, 128, 64, 4, false, false, cutlass::bfloat16_t, Flash_kernel_traits<128, 128, 64, 4, cutlass::bfloat16_t> >, false, true, false, false, true, true, false, false>(pytorch_flash::Flash_fwd_params)",
    "add": "void at::native::vectorized_elementwise_kernel<4, at::native::CUDAFunctor_add<c10::BFloat16>, at::detail::Array<char*, 3> >(int, at::native::CUDAFunctor_add<c10::BFloat16>, at::detail::Array<char*, 3>)",
    "silu": "void at::native::vectorized_elementwise_kernel<4, at::native::(anonymous namespace)::silu_kernel(at::TensorIteratorBase&)::{lambda()#1}::operator()() const::{lambda()#4}::operator()() const::{lambda(c10::BFloat16)#1}, at::detail::Array<char*, 2> >(int, at::native::(anonymous namespace)::silu_kernel(at::TensorIteratorBase&)::{lambda()#1}::operator()() const::{lambda()#4}::operator()() const::{lambda(c10::BFloat16)#1}, at::detail::Array<char*, 2>)",
    "copy": "void at::native::vectorized_elementwise_kernel<4, at::native::(anonymous namespace)::direct_copy_kernel_cuda(at::TensorIteratorBase&)::{lambda()#3}::operator()() const::{lambda()#7}::operator()() const::{lambda(float)#1}, at::detail::Array<char*, 2> >(int, at::native::(anonymous namespace)::direct_copy_kernel_cuda(at::TensorIteratorBase&)::{lambda()#3}::operator()() const::{lambda()#7}::operator()() const::{lambda(float)#1}, at::detail::Array<char*, 2>)",
    "argmax": "void at::native::reduce_kernel<512, 1, at::native::ReduceOp<float, at::native::ArgMaxOps<float>, unsigned int, long, 4, 4> >(at::native::ReduceOp<float, at::native::ArgMaxOps<float>, unsigned int, long, 4, 4>)",
    "nccl": "ncclDevKernel_AllReduce_Sum_bf16_RING_LL(ncclDevKernelArgsStorage<4096ul>)",
}
GEOM = {
    "pow": ([1024, 1, 1], [128, 1, 1]), "mean": ([512, 1, 1], [32, 16, 1]), "add_": ([256, 1, 1], [128, 1, 1]),
    "rsqrt": ([256, 1, 1], [128, 1, 1]), "mul": ([8192, 1, 1], [128, 1, 1]), "vmul": ([1024, 1, 1], [128, 1, 1]),
    "gemm_128": ([24, 4, 1], [128, 1, 1]), "gemm_256": ([16, 4, 1], [384, 1, 1]),
    "gemm_splitk": ([16, 8, 4], [128, 1, 1]), "splitk_reduce": ([64, 16, 1], [32, 16, 1]),
    "flash": ([2, 2, 16], [128, 1, 1]), "add": ([1024, 1, 1], [128, 1, 1]), "silu": ([2816, 1, 1], [128, 1, 1]),
    "copy": ([1024, 1, 1], [128, 1, 1]), "argmax": ([1, 512, 1], [32, 16, 1]), "nccl": ([2, 1, 1], [640, 1, 1]),
}


class T:
    """A time in ns, written as microseconds with three decimals."""

    def __init__(self, ns):
        self.ns = ns


events = []
state = {"ext": 0, "corr": 30000, "gpu": (BASE_US + 400) * 1000, "ev_idx": 0, "calls": {}}


def next_dur(key):
    n = state["calls"].get(key, 0)
    state["calls"][key] = n + 1
    return DUR[key][n]


def ev(ph, cat, name, pid, tid, ts, dur=None, args=None):
    e = {"ph": ph, "cat": cat, "name": name, "pid": pid, "tid": tid, "ts": T(ts)}
    if dur is not None:
        e["dur"] = T(dur)
    if args is not None:
        e["args"] = args
    events.append(e)
    return e


def launch(t, ext, kernel_key, dur_ns, tid=TID, linked=True):
    """cudaLaunchKernel at host time t (ns) and the kernel it queues; returns the host time after."""
    state["corr"] += 1
    corr = state["corr"]
    rt_args = {"External id": ext, "cbid": 211, "correlation": corr} if linked else {"cbid": 211, "correlation": corr}
    ev("X", "cuda_runtime", "cudaLaunchKernel", PID, tid, t, 4100, rt_args)
    start = max(state["gpu"], t + 3000)
    grid, block = GEOM[kernel_key]
    k_args = {"queued": 0, "device": 0, "context": 1, "stream": 7, "correlation": corr,
              "registers per thread": 128, "shared memory": 0, "blocks per SM": 1.0, "warps per SM": 4.0,
              "grid": grid, "block": block, "est. achieved occupancy %": 0}
    if linked:
        k_args = {"External id": ext, **k_args}
    ev("X", "kernel", K[kernel_key], 0, 7, start, dur_ns, k_args)
    events.append({"ph": "s", "id": corr, "pid": PID, "tid": tid, "ts": T(t), "cat": "ac2g", "name": "ac2g"})
    events.append({"ph": "f", "id": corr, "pid": 0, "tid": 7, "ts": T(start), "cat": "ac2g", "name": "ac2g", "bp": "e"})
    state["gpu"] = start + dur_ns + 1024
    return t + 4100 + 900


def op(t, name, dims, types, concrete=None, children=(), kernels=()):
    """A cpu_op starting at t (ns): its children, then its kernel launches. Returns its end."""
    state["ext"] += 1
    ext = state["ext"]
    state["ev_idx"] += 1
    args = {"External id": ext, "Record function id": 0, "Ev Idx": state["ev_idx"], "Input Dims": dims,
            "Input type": types}
    if concrete is not None:
        args["Concrete Inputs"] = concrete
    e = ev("X", "cpu_op", name, PID, TID, t)
    e["args"] = args
    cur = t + 1500
    for child in children:
        cur = child(cur) + 300
    for key, dur_key in kernels:
        cur = launch(cur, ext, key, next_dur(dur_key) if isinstance(dur_key, str) else dur_key)
    end = cur + 700
    e["dur"] = T(end - t)
    return end


def leaf(name, dims, types, concrete=None, kernels=(), children=()):
    return lambda t: op(t, name, dims, types, concrete, children, kernels)


X = [2, 256, 2048]
rms_calls = [0]


def rms_norm(t):
    c = rms_calls[0]
    rms_calls[0] += 1
    kids = []
    for child, ns in RMS_CHILD_NS:
        key = {"pow": "pow", "mean": "mean", "add_": "add_", "rsqrt": "rsqrt", "mul": "mul", "mul_": "mul"}[child]
        if child == "pow":
            ns += 100 * c
        dims = {"mean": [X, [], [], []], "add_": [[2, 256, 1], [], []], "rsqrt": [[2, 256, 1]],
                "mul": [X, [2, 256, 1]], "mul_": [X, [2048]], "pow": [X, []]}[child]
        types = [BF16 if d else "Scalar" for d in dims]
        kids.append(leaf("aten::" + child, dims, types, None, [(key, ns)]))
    return op(t, "aten::rms_norm", [X, [], [2048], []], [BF16, "ScalarList", BF16, "Scalar"],
              ["", "[2048]", "", "1e-06"], kids)


def linear(x, w, bias, inner):
    dims = [x, w, [w[0]] if bias else []]
    types = [BF16, BF16, BF16 if bias else ""]
    t_op = leaf("aten::t", [w], [BF16], [""],
                children=[leaf("aten::transpose", [w, [], []], [BF16, "Scalar", "Scalar"], ["", "0", "1"])])
    return leaf("aten::linear", dims, types, ["", "", ""], children=[t_op, inner])


def mm(m, k, n, kernels):
    return leaf("aten::mm", [[m, k], [k, n]], [BF16, BF16], ["", ""], kernels)


def matmul(x, k, n, kernels):
    return leaf("aten::matmul", [x, [k, n]], [BF16, BF16], ["", ""],
                children=[leaf("aten::view", [x, []], [BF16, "ScalarList"], ["", f"[512, {k}]"]),
                          mm(512, k, n, kernels),
                          leaf("aten::_unsafe_view", [[512, n], []], [BF16, "ScalarList"], ["", f"[2, 256, {n}]"])])


Q, KV = [2, 16, 256, 128], [2, 4, 256, 128]
sdpa = leaf(
    "aten::scaled_dot_product_attention", [Q, KV, KV, [], [], [], [], []],
    [BF16, BF16, BF16, "", "Scalar", "Scalar", "", "Scalar"], ["", "", "", "", "0.", "True", "", "True"],
    children=[leaf("aten::_scaled_dot_product_flash_attention", [Q, KV, KV, [], [], [], []],
                   [BF16, BF16, BF16, "Scalar", "Scalar", "Scalar", ""], ["", "", "", "0.", "True", "False", ""],
                   children=[leaf("aten::transpose", [Q, [], []], [BF16, "Scalar", "Scalar"], ["", "1", "2"]),
                             leaf("aten::_flash_attention_forward",
                                  [[2, 256, 16, 128], [2, 256, 4, 128], [2, 256, 4, 128]] + [[]] * 8,
                                  [BF16, BF16, BF16, "", "", "Scalar", "Scalar", "Scalar", "Scalar", "Scalar", ""],
                                  ["", "", "", "", "", "256", "256", "0.", "True", "False", ""],
                                  [("flash", "flash")])])])


def add(t):
    return op(t, "aten::add", [X, X, []], [BF16, BF16, "Scalar"], ["", "", "1"], (), [("add", "add")])


U = [2, 256, 5632]
block_ops = [
    rms_norm,
    linear(X, [3072, 2048], False, matmul(X, 2048, 3072, [("gemm_128", "qkv")])),
    sdpa,
    linear(X, [2048, 2048], False, matmul(X, 2048, 2048, [("gemm_128", "o_proj")])),
    add,
    rms_norm,
    linear(X, [11264, 2048], True,
           leaf("aten::addmm", [[11264], [512, 2048], [2048, 11264], [], []], [BF16, BF16, BF16, "Scalar", "Scalar"],
                ["", "", "", "1", "1"], [("gemm_256", "addmm")])),
    leaf("aten::chunk", [[2, 256, 11264], [], []], [BF16, "Scalar", "Scalar"], ["", "2", "-1"]),
    leaf("aten::silu", [U], [BF16], [""], [("silu", "silu")]),
    leaf("aten::mul", [U, U], [BF16, BF16], ["", ""], [("vmul", "mul")]),
    linear(U, [2048, 5632], False,
           matmul(U, 5632, 2048, [("gemm_splitk", "splitk_gemm"), ("splitk_reduce", "splitk_reduce")])),
    add,
    leaf("aten::to", [X, [], [], [], []], [BF16, "Scalar", "Scalar", "Scalar", ""], ["", "6", "False", "False", ""],
         children=[leaf("aten::_to_copy", [X, [], [], [], [], [], []], [BF16, "Scalar", "", "", "", "Scalar", ""],
                        ["", "6", "", "", "", "False", ""],
                        children=[leaf("aten::empty_strided", [[], [], [], [], [], []],
                                       ["ScalarList", "ScalarList", "Scalar", "", "", ""], ["[2, 256, 2048]", "", "6", "", "", ""]),
                                  leaf("aten::copy_", [X, X, []], [F32, BF16, "Scalar"], ["", "", "False"],
                                       [("copy", "copy")])])]),
    leaf("aten::argmax", [X, [], []], [F32, "Scalar", "Scalar"], ["", "-1", "False"], [("argmax", "argmax")]),
]


def input_copy(t):
    """aten::to of the next step's token ids: a host-to-device cudaMemcpyAsync, no kernel."""
    def copy_(t0):
        state["ext"] += 1
        ext = state["ext"]
        e = ev("X", "cpu_op", "aten::copy_", PID, TID, t0, None,
               {"External id": ext, "Record function id": 0, "Input Dims": [[2, 256], [2, 256], []],
                "Input type": [I64, I64, "Scalar"], "Concrete Inputs": ["", "", "False"]})
        state["corr"] += 1
        ev("X", "cuda_runtime", "cudaMemcpyAsync", PID, TID, t0 + 1000, 6000,
           {"External id": ext, "cbid": 41, "correlation": state["corr"]})
        ev("X", "gpu_memcpy", "Memcpy HtoD (Pageable -> Device)", 0, 7, state["gpu"], 1500,
           {"External id": ext, "device": 0, "context": 1, "stream": 7, "correlation": state["corr"], "bytes": 4096,
            "memory bandwidth (GB/s)": 2.73})
        state["gpu"] += 2500
        e["dur"] = T(8000)
        return t0 + 8000
    return op(t, "aten::to", [[2, 256], [], [], [], []], [I64, "", "", "Scalar", ""], ["", "", "", "False", ""], [copy_])


t = BASE_US * 1000
for step in range(1, 4):
    step_ev = ev("X", "user_annotation", f"ProfilerStep#{step}", PID, TID, t, None, {"External id": 0})
    gpu_step_start = state["gpu"]
    start = t
    t += 2000
    for block_op in block_ops:
        t = block_op(t) + 800
    t = input_copy(t) + 800
    # NCCL all-reduce launched by the communication thread: no cpu_op, no External id.
    launch(t - 20000, None, "nccl", next_dur("nccl"), tid=SIDE_TID, linked=False)
    step_ev["dur"] = T(t - start)
    ev("X", "gpu_user_annotation", f"ProfilerStep#{step}", 0, 7, gpu_step_start, state["gpu"] - gpu_step_start,
       {"External id": 0})
    t = max(t, state["gpu"]) + 5000

events.append({"name": "process_name", "ph": "M", "ts": T(BASE_US * 1000), "pid": PID, "tid": 0, "args": {"name": "python3"}})
events.append({"name": "thread_name", "ph": "M", "ts": T(BASE_US * 1000), "pid": PID, "tid": TID, "args": {"name": "thread 2154 (python3)"}})
events.append({"name": "process_name", "ph": "M", "ts": T(BASE_US * 1000), "pid": 0, "tid": 0, "args": {"name": "python3"}})
events.append({"name": "thread_name", "ph": "M", "ts": T(BASE_US * 1000), "pid": 0, "tid": 7, "args": {"name": "stream 7 "}})

trace = {
    "schemaVersion": 1,
    "deviceProperties": [{
        "id": 0, "name": "NVIDIA H100 80GB HBM3", "totalGlobalMem": 84929347584, "computeMajor": 9,
        "computeMinor": 0, "maxThreadsPerBlock": 1024, "maxThreadsPerMultiprocessor": 2048, "regsPerBlock": 65536,
        "regsPerMultiprocessor": 65536, "warpSize": 32, "sharedMemPerBlock": 49152,
        "sharedMemPerMultiprocessor": 233472, "numSms": 132, "sharedMemPerBlockOptin": 232448}],
    "cupti_version": 24,
    "cuda_runtime_version": 12040,
    "cuda_driver_version": 12040,
    "record_shapes": 1,
    "with_stack": 0,
    "profile_memory": 0,
    "displayTimeUnit": "ms",
    "baseTimeNanoseconds": BASE_US * 1000,
    "traceEvents": events,
    "traceName": "torch_trace_small.json",
}


def value(v):
    """Compact JSON, with T times as microseconds to three decimals, as Kineto writes them."""
    if isinstance(v, T):
        return f"{v.ns // 1000}.{v.ns % 1000:03d}"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{json.dumps(k)}: {value(x)}" for k, x in v.items()) + "}"
    if isinstance(v, list):
        return "[" + ", ".join(value(x) for x in v) + "]"
    return json.dumps(v)


def event_text(e):
    """One event in Kineto's layout: header fields, times, then args on a line of their own."""
    head = ", ".join(f'"{k}": {value(e[k])}' for k in ("ph", "cat", "name", "pid", "tid", "id", "bp") if k in e)
    times = ", ".join(f'"{k}": {value(e[k])}' for k in ("ts", "dur") if k in e)
    lines = ["  {", f"    {head},", f"    {times}" + ("," if "args" in e else "")]
    if "args" in e:
        lines.append(f'    "args": {value(e["args"])}')
    lines.append("  }")
    return "\n".join(lines)


header = {k: v for k, v in trace.items() if k not in ("traceEvents", "traceName")}
with open("torch_trace_small.json", "w") as f:
    f.write("{\n")
    for k, v in header.items():
        f.write(f"  {json.dumps(k)}: {value(v)},\n")
    f.write('  "traceEvents": [\n')
    f.write(",\n".join(event_text(e) for e in events))
    f.write('\n  ],\n  "traceName": "torch_trace_small.json"\n}\n')
