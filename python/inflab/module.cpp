// The extension module inflab._core; the package inflab (__init__.py) wraps its results.
#include "autodiff/blas.hpp"
#include "bindings.hpp"

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
      PyErr_SetString(PyExc_ValueError, x.what());
    } catch (const inflab::Error& x) {
      PyErr_SetString(PyExc_ValueError, x.what());
    }
  });
  auto problem = inflab::python::bind_problem(m);
  inflab::python::bind_evaluations(m, problem);
}
