#include "hw/operation.h"

namespace fathom::hw {

std::string to_string(OpKind k) {
  switch (k) {
    case OpKind::kGemm: return "gemm";
    case OpKind::kAttention: return "attention";
    case OpKind::kElementwise: return "elementwise";
    case OpKind::kNorm: return "norm";
    case OpKind::kEmbedding: return "embedding";
    case OpKind::kScan: return "scan";
    case OpKind::kMemory: return "memory";
    case OpKind::kCollective: return "collective";
    case OpKind::kBubble: return "bubble";
  }
  return "?";
}

std::string to_string(Collective c) {
  switch (c) {
    case Collective::kAllReduce: return "all-reduce";
    case Collective::kAllGather: return "all-gather";
    case Collective::kReduceScatter: return "reduce-scatter";
    case Collective::kAllToAll: return "all-to-all";
    case Collective::kBroadcast: return "broadcast";
    case Collective::kSendRecv: return "send-recv";
  }
  return "?";
}

std::string to_string(Pass p) {
  switch (p) {
    case Pass::kForward: return "forward";
    case Pass::kBackward: return "backward";
    case Pass::kRecompute: return "recompute";
    case Pass::kOptimizer: return "optimizer";
    case Pass::kInference: return "inference";
  }
  return "?";
}

}  // namespace fathom::hw
