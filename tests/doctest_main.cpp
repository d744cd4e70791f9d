#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include "autodiff/blas.hpp"

int main(int argc, char** argv) {
  inflab::blas::keep_freed_memory();  // as every inflab program does (autodiff/blas.hpp)
  return doctest::Context(argc, argv).run();
}
