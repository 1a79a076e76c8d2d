// All built-in layer types in one include.
#pragma once
#include "prunus/nn/activation.h"
#include "prunus/nn/batchnorm.h"
#include "prunus/nn/conv2d.h"
#include "prunus/nn/init.h"
#include "prunus/nn/linear.h"
#include "prunus/nn/module.h"
#include "prunus/nn/pooling.h"
#include "prunus/nn/sequential.h"
