// Micro benchmark of quantize_float32: per-channel int8 weights (as in the benchmark model) and
// per-channel int32 biases, per-tensor uint8 and half-away rounding for comparison. Reports bytes
// of float input per second.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "quant/quantize.h"

namespace {

std::vector<float> make_data(size_t count) {
  std::vector<float> v(count);
  uint64_t s = 12345;
  for (auto& x : v) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    x = static_cast<float>(static_cast<int32_t>(s >> 32)) * (1.0f / 2147483648.0f) * 0.05f;
  }
  return v;
}

void run(benchmark::State& state, qimplant::QType qtype, int size, bool per_channel, int32_t rows,
         int32_t cols, qimplant::Rounding rounding = qimplant::Rounding::HalfToEven) {
  const std::vector<int32_t> shape =
      cols ? std::vector<int32_t>{rows, cols} : std::vector<int32_t>{rows};
  const size_t count = static_cast<size_t>(rows) * static_cast<size_t>(cols ? cols : 1);
  const std::vector<float> data = make_data(count);
  qimplant::QuantParams q;
  const size_t channels = per_channel ? static_cast<size_t>(rows) : 1;
  q.scale.assign(channels, 0.05f / 127.0f);
  q.zero_point.assign(channels, 0);
  std::vector<uint8_t> out(count * static_cast<size_t>(size));
  for (auto _ : state) {
    const int64_t nan_at = qimplant::quantize_float32(reinterpret_cast<const uint8_t*>(data.data()),
                                                      shape, q, qtype, rounding, out.data());
    benchmark::DoNotOptimize(nan_at);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(count * 4));
}

void BM_Int8PerChannel(benchmark::State& state) {
  run(state, qimplant::QType::Int8, 1, true, 4096, 4096);
}
void BM_UInt8PerTensor(benchmark::State& state) {
  run(state, qimplant::QType::UInt8, 1, false, 4096, 4096);
}
void BM_Int8PerChannelHalfAway(benchmark::State& state) {
  run(state, qimplant::QType::Int8, 1, true, 4096, 4096, qimplant::Rounding::HalfAwayFromZero);
}
void BM_Int32BiasPerChannel(benchmark::State& state) {
  run(state, qimplant::QType::Int32, 4, true, 1 << 20, 0);
}

}  // namespace

BENCHMARK(BM_Int8PerChannel)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Int8PerChannelHalfAway)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_UInt8PerTensor)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Int32BiasPerChannel)->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
