# The version lives in CMakeLists.txt (project VERSION); the Python package's copy must agree.
# cmake -P with -DSOURCE=<source dir> -DVERSION=<PROJECT_VERSION>.
file(READ ${SOURCE}/python/qimplant/__init__.py init)
if(NOT init MATCHES "__version__ = \"([^\"]*)\"")
  message(FATAL_ERROR "python/qimplant/__init__.py has no __version__ = \"...\" line")
endif()
if(NOT CMAKE_MATCH_1 STREQUAL VERSION)
  message(FATAL_ERROR "python/qimplant/__init__.py says ${CMAKE_MATCH_1}, CMakeLists.txt "
                      "project(VERSION) says ${VERSION}: change the Python copy")
endif()
file(READ ${SOURCE}/python/pyproject.toml pyproject)
if(NOT pyproject MATCHES "dynamic = \\[\"version\"\\]")
  message(FATAL_ERROR "python/pyproject.toml must take its version from qimplant.__version__")
endif()
