// The extension module inflab._core; the package inflab (__init__.py) wraps its results.
#include <cctype>
#include <string>

#include "autodiff/blas.hpp"
#include "bindings.hpp"

namespace {
// The library's messages name options as the command line spells them (--n-train); a Python
// caller passes them as keyword arguments (n_train).
std::string python_spelling(const std::string& m) {
  std::string out;
  for (std::size_t i = 0; i < m.size();) {
    if (m.compare(i, 2, "--") == 0 && i + 2 < m.size() && std::islower(static_cast<unsigned char>(m[i + 2])) &&
        (i == 0 || !std::isalnum(static_cast<unsigned char>(m[i - 1])))) {
      std::size_t e = i + 2;
      while (e < m.size() && (std::isalnum(static_cast<unsigned char>(m[e])) || m[e] == '-')) ++e;
      for (std::size_t k = i + 2; k < e; ++k) out += m[k] == '-' ? '_' : m[k];
      i = e;
    } else {
      out += m[i++];
    }
  }
  return out;
}
}  // namespace

PYBIND11_MODULE(_core, m) {
  namespace py = pybind11;
  m.doc() = "inflab's library layer (docs/python.md); import inflab, not this module";
  // the allocator policy of every inflab program: the sweeps reuse freed heap blocks instead of
  // mapping and faulting fresh pages per call (docs/performance.md)
  inflab::blas::keep_freed_memory();
  inflab::python::remember_main_thread();  // Python's signal handlers run there
  py::register_exception_translator([](std::exception_ptr e) {
    try {
      if (e) std::rethrow_exception(e);
    } catch (const inflab::Interrupted& x) {  // a stop not from this process's Ctrl-C
      PyErr_SetString(PyExc_KeyboardInterrupt, x.what());
    } catch (const std::invalid_argument& x) {  // a name not in a choice table
      PyErr_SetString(PyExc_ValueError, python_spelling(x.what()).c_str());
    } catch (const inflab::Error& x) {
      PyErr_SetString(PyExc_ValueError, python_spelling(x.what()).c_str());
    }
  });
  auto problem = inflab::python::bind_problem(m);
  inflab::python::bind_evaluations(m, problem);
}
