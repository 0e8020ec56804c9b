// The captioner's methods (caption.hpp), compiled once for everything that uses the model:
// the caption program and mmm-run (task.cpp), caption::Reader, the parity test and the
// application benchmark. Each of those that compiled the model itself spent ~25 CPU-s on
// the same templates.
#include "caption.hpp"

namespace caption {

mmm::Seq<dim> Captioner::forward(const mmm::Map<3>& images, mmm::Workspace& ws) const {
  const mmm::Workspace::Mark start = ws.mark();
  const mmm::Map<features> map = encoder_.forward(images, ws);
  if (map.height * map.width != image_tokens)
    throw mmm::ShapeError(name() + ": the encoder gives a " + std::to_string(map.height) + "×" + std::to_string(map.width) +
                          " map but the memory has " + std::to_string(image_tokens) + " learned positions (64×64 images)");
  const mmm::Seq<features> tokens = mmm::MapToSeq{}.forward(map, ws);
  const mmm::Seq<dim> projected = memory_proj_.forward(tokens, ws);
  const mmm::Seq<dim> memory = memory_pos_.forward(projected, ws);
  ws.release_except(start, memory);
  return memory;
}

mmm::Seq<vocab_size> Captioner::logits(const mmm::Seq<dim>& memory, const mmm::Tokens& tokens, mmm::Workspace& ws) const {
  const mmm::Workspace::Mark start = ws.mark();
  const mmm::Seq<dim> x = pos_.forward(embed_.forward(tokens, ws), ws);
  const mmm::Seq<dim> h = decoder_.forward(x, memory, mmm::DecoderMasks{}, ws);
  const mmm::Seq<vocab_size> y = out_.forward(h, ws);
  ws.release_except(start, y);
  return y;
}

Captioner::State Captioner::make_state(index rows, index capacity) const {
  return State(decoder_.make_cache(rows, capacity, image_tokens));
}

void Captioner::condition(State& state, const mmm::Seq<dim>& memory, mmm::Workspace& ws) const {
  state.condition(memory.batch, [&](mmm::KVCache& cache) { decoder_.set_memory(memory, cache, ws); }, &name, "images");
}

mmm::Feat<vocab_size> Captioner::step(const mmm::Tokens& tokens, State& state, mmm::Workspace& ws) const {
  mmm::KVCache& cache = state.cache();
  if (tokens.batch != cache.batch())
    throw mmm::ShapeError(name() + ": " + std::to_string(tokens.batch) + " rows of tokens for a state of " +
                          std::to_string(cache.batch()) + " rows");
  const mmm::Workspace::Mark start = ws.mark();
  const mmm::Seq<dim> e = embed_.forward(tokens, ws);
  const mmm::Seq<dim> x = pos_.forward_at(e, cache.lengths().data(), tokens.lengths, ws);
  const mmm::Seq<dim> h = decoder_.step(x, cache, ws);
  // Each row's last new position.
  float* last = ws.allocate<float>(mmm::checked_mul(tokens.batch, dim, "Captioner::step"));
  for (index b = 0; b < h.batch; ++b)
    std::memcpy(last + b * dim, h.data + (b * h.length + tokens.valid_length(b) - 1) * dim, sizeof(float) * dim);
  const mmm::Feat<vocab_size> y = out_.forward(mmm::Feat<dim>(last, tokens.batch), ws);
  ws.release_except(start, y);
  return y;
}

Describer::Describer(const std::string& path) : image_(image_size) {
  const mmm::SafeTensors weights(path);
  mmm::load(model_, weights);
  words_ = examples::metadata_list(weights, "vocabulary", vocab_size, "words");
  image_.read_normalization(weights);
  width_ = static_cast<index>(weights.metadata_integer("beam_width", 1, 64));
  bos_ = id_of("<bos>", weights.path());
  eos_ = id_of("<eos>", weights.path());
  pad_ = id_of("<pad>", weights.path());
  state_ = model_.make_state(width_, max_length);
}

mmm::generate::Hypotheses Describer::beam(const mmm::Tensor& input, index width) {
  if (width <= 0) width = width_;
  condition(input, width);
  return mmm::generate::beam_search(model_, state_, mmm::Tokens(&bos_, 1, 1),
                                    {.max_length = max_length, .eos = eos_, .width = width}, workspace_);
}

mmm::generate::Hypotheses Describer::greedy(const mmm::Tensor& input) {
  condition(input, 1);
  return mmm::generate::greedy(model_, state_, mmm::Tokens(&bos_, 1, 1), {.max_length = max_length, .eos = eos_},
                               workspace_);
}

Describer::Result Describer::describe(const mmm::Image& image, index width) {
  const mmm::generate::Hypotheses h = beam(image_input(image), width);
  const auto tokens = h.tokens(0);
  return {text(tokens), {tokens.begin(), tokens.end()}, h.score(0)};
}

void Describer::condition(const mmm::Tensor& input, index rows) {
  if (rows != state_.rows()) state_ = model_.make_state(rows, max_length);
  workspace_.reset();
  const mmm::Seq<dim> memory = model_.forward(mmm::Map<3>(input), workspace_);
  model_.condition(state_, memory, workspace_);
}

std::int32_t Describer::id_of(const std::string& word, const std::string& path) const {
  for (std::size_t i = 0; i < words_.size(); ++i)
    if (words_[i] == word) return static_cast<std::int32_t>(i);
  throw mmm::FormatError(path + ": the vocabulary has no '" + word + "'");
}

}  // namespace caption
