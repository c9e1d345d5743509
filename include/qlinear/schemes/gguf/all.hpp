#pragma once
// Every GGUF scheme qlinear implements: weight formats and the activation formats (Q8_0, Q8_1,
// Q8_K) ggml's dot products pair them with. Usage: `#include <qlinear/schemes/gguf/all.hpp>`

#include "qlinear/schemes/gguf/iq4_nl.hpp"
#include "qlinear/schemes/gguf/iq4_xs.hpp"
#include "qlinear/schemes/gguf/q2_k.hpp"
#include "qlinear/schemes/gguf/q3_k.hpp"
#include "qlinear/schemes/gguf/q4_0.hpp"
#include "qlinear/schemes/gguf/q4_1.hpp"
#include "qlinear/schemes/gguf/q4_k.hpp"
#include "qlinear/schemes/gguf/q5_0.hpp"
#include "qlinear/schemes/gguf/q5_1.hpp"
#include "qlinear/schemes/gguf/q5_k.hpp"
#include "qlinear/schemes/gguf/q6_k.hpp"
#include "qlinear/schemes/gguf/q8_0.hpp"
#include "qlinear/schemes/gguf/q8_1.hpp"
#include "qlinear/schemes/gguf/q8_k.hpp"
