#pragma once
// The one include a user needs: every module, the composition templates, weight loading,
// and the preprocessing of every modality.
// (Only includes; each concept lives in its own header.)

#include "mmm/core/errors.hpp"
#include "mmm/core/kinds.hpp"
#include "mmm/core/tensor.hpp"
#include "mmm/core/threading.hpp"
#include "mmm/core/workspace.hpp"

#include "mmm/compose/module.hpp"
#include "mmm/compose/parallel.hpp"
#include "mmm/compose/residual.hpp"
#include "mmm/compose/sequential.hpp"

#include "mmm/layers/activation.hpp"
#include "mmm/layers/adaptive_pool2d.hpp"
#include "mmm/layers/batch_norm.hpp"
#include "mmm/layers/conv1d.hpp"
#include "mmm/layers/conv2d.hpp"
#include "mmm/layers/conv_transpose2d.hpp"
#include "mmm/layers/embedding.hpp"
#include "mmm/layers/flatten.hpp"
#include "mmm/layers/fusion.hpp"
#include "mmm/layers/group_norm.hpp"
#include "mmm/layers/heads.hpp"
#include "mmm/layers/identity.hpp"
#include "mmm/layers/linear.hpp"
#include "mmm/layers/norm.hpp"
#include "mmm/layers/pixel_shuffle.hpp"
#include "mmm/layers/pool2d.hpp"
#include "mmm/layers/pooling.hpp"
#include "mmm/layers/upsample.hpp"

#include "mmm/models/resnet.hpp"

#include "mmm/io/load.hpp"
#include "mmm/io/safetensors.hpp"

#include "mmm/preprocess/audio.hpp"
#include "mmm/preprocess/image.hpp"
#include "mmm/preprocess/text.hpp"
