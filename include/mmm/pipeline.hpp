#pragma once
// The one include a user needs: every module, the composition templates, weight loading,
// decoding (generate.hpp), and the preprocessing of every modality.
// (Only includes; each concept lives in its own header.)

#include "mmm/core/errors.hpp"
#include "mmm/core/kinds.hpp"
#include "mmm/core/tensor.hpp"
#include "mmm/core/threading.hpp"
#include "mmm/core/workspace.hpp"

#include "mmm/compose/fork.hpp"
#include "mmm/compose/module.hpp"
#include "mmm/compose/parallel.hpp"
#include "mmm/compose/residual.hpp"
#include "mmm/compose/sequential.hpp"

#include "mmm/layers/activation.hpp"
#include "mmm/layers/adaptive_pool2d.hpp"
#include "mmm/layers/attention.hpp"
#include "mmm/layers/batch_norm.hpp"
#include "mmm/layers/conv2d.hpp"
#include "mmm/layers/cross_attention_fusion.hpp"
#include "mmm/layers/decoder_block.hpp"
#include "mmm/layers/embedding.hpp"
#include "mmm/layers/feed_forward.hpp"
#include "mmm/layers/flatten.hpp"
#include "mmm/layers/fusion.hpp"
#include "mmm/layers/gated_fusion.hpp"
#include "mmm/layers/group_norm.hpp"
#include "mmm/layers/gru.hpp"
#include "mmm/layers/heads.hpp"
#include "mmm/layers/identity.hpp"
#include "mmm/layers/linear.hpp"
#include "mmm/layers/lstm.hpp"
#include "mmm/layers/norm.hpp"
#include "mmm/layers/patch_embed.hpp"
#include "mmm/layers/pixel_shuffle.hpp"
#include "mmm/layers/pool2d.hpp"
#include "mmm/layers/pooling.hpp"
#include "mmm/layers/positional.hpp"
#include "mmm/layers/rnn.hpp"
#include "mmm/layers/sequence_join.hpp"
#include "mmm/layers/transformer.hpp"
#include "mmm/layers/upsample.hpp"

#include "mmm/generate.hpp"

#include "mmm/models/gpt2.hpp"
#include "mmm/models/llama.hpp"
#include "mmm/models/resnet.hpp"

#include "mmm/io/load.hpp"
#include "mmm/io/safetensors.hpp"

#include "mmm/preprocess/audio.hpp"
#include "mmm/preprocess/image.hpp"
#include "mmm/preprocess/text.hpp"
