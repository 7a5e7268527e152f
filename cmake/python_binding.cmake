# The Python binding qimplant_native (pybind11, Debian's pybind11-dev), used by qimplant.api when
# it can be imported (else the api runs the binary). It is built from the binary's own CLI
# sources (everything of the q-implant target but main.cpp and the man page), so the binding and
# the binary register and run the same commands.
option(QIMPLANT_PYTHON_BINDING "Build the Python binding qimplant_native (needs pybind11-dev)" ON)
if(NOT QIMPLANT_PYTHON_BINDING)
  return()
endif()
if(QIMPLANT_SANITIZE)
  # An ASan module cannot be loaded by a python3 that was not started with the ASan runtime.
  message(STATUS "QIMPLANT_SANITIZE: no Python binding; the Python package runs the binary")
  return()
endif()
set(QIMPLANT_PYTHON /usr/bin/python3 CACHE FILEPATH "python3 the binding is built for")
set(PYTHON_EXECUTABLE ${QIMPLANT_PYTHON})
find_package(pybind11 CONFIG QUIET)
if(NOT pybind11_FOUND)
  message(STATUS "pybind11 not found: the Python package will run the q-implant binary")
  return()
endif()
get_target_property(qimplant_cli_sources q-implant SOURCES)
list(FILTER qimplant_cli_sources EXCLUDE REGEX "(^|/)(main|man_page)\\.cpp$")
list(TRANSFORM qimplant_cli_sources PREPEND ${PROJECT_SOURCE_DIR}/src/)
pybind11_add_module(qimplant_native MODULE NO_EXTRAS
  ${PROJECT_SOURCE_DIR}/python/native/native.cpp ${qimplant_cli_sources})
target_link_libraries(qimplant_native PRIVATE qimplant CLI11::CLI11)
# The static library goes into a shared object here (and can in users' programs).
set_target_properties(qimplant PROPERTIES POSITION_INDEPENDENT_CODE ON)
set_target_properties(qimplant_native PROPERTIES LIBRARY_OUTPUT_DIRECTORY
                                                 ${PROJECT_BINARY_DIR}/python)
set(QIMPLANT_PYTHON_DIR lib/python3/dist-packages CACHE STRING
    "where cmake --install puts qimplant_native (relative to the prefix)")
install(TARGETS qimplant_native LIBRARY DESTINATION ${QIMPLANT_PYTHON_DIR} COMPONENT Python)
