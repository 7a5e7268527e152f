# Installation and packaging: `cmake --install build` and `cpack -G DEB` in the build folder.
#
#   bin/q-implant                         the tool                       (component Runtime)
#   share/man/man1/q-implant.1            generated from the CLI11 app   (Runtime)
#   lib/libqimplant.a                     the library                    (Development)
#   include/qimplant/...                  its headers, src/ layout kept  (Development)
#   lib/cmake/qimplant/                   find_package(qimplant) -> qimplant::qimplant
#   lib/pkgconfig/qimplant.pc             pkg-config --cflags --libs qimplant
#
# The headers include each other as "plan/edit_plan.h" (paths from src/), so the interface
# include directory is include/qimplant and `#include <qimplant/implant.h>` resolves through
# include/ (the compiler's default for a /usr or /usr/local prefix; the CMake package and the
# pkg-config file add both).
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(QIMPLANT_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/qimplant)

install(TARGETS q-implant RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT Runtime)

# The man page comes from the binary's own CLI11 definition (hidden --man-page, src/cli/man_page.h),
# so it cannot drift from --help.
set(QIMPLANT_MAN_PAGE ${PROJECT_BINARY_DIR}/man/q-implant.1)
add_custom_command(
  OUTPUT ${QIMPLANT_MAN_PAGE}
  COMMAND ${CMAKE_COMMAND} -E make_directory ${PROJECT_BINARY_DIR}/man
  COMMAND q-implant --man-page ${QIMPLANT_MAN_PAGE}
  DEPENDS q-implant
  COMMENT "q-implant --man-page: generating q-implant.1"
  VERBATIM)
add_custom_target(qimplant_man ALL DEPENDS ${QIMPLANT_MAN_PAGE})
install(FILES ${QIMPLANT_MAN_PAGE} DESTINATION ${CMAKE_INSTALL_MANDIR}/man1 COMPONENT Runtime)

set_target_properties(qimplant_schema PROPERTIES EXPORT_NAME schema)
target_include_directories(qimplant INTERFACE $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
install(TARGETS qimplant qimplant_schema EXPORT qimplantTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT Development
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT Development)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/src/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/qimplant
  COMPONENT Development
  FILES_MATCHING PATTERN "*.h"
  PATTERN "cli" EXCLUDE)
install(FILES ${QIMPLANT_SCHEMA_HEADERS}
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/qimplant/schema COMPONENT Development)
configure_file(${CMAKE_CURRENT_LIST_DIR}/version.h.in ${PROJECT_BINARY_DIR}/generated/version.h
  @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/generated/version.h
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/qimplant COMPONENT Development)

install(EXPORT qimplantTargets NAMESPACE qimplant:: DESTINATION ${QIMPLANT_CMAKE_DIR}
  COMPONENT Development)
configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/qimplantConfig.cmake.in
  ${PROJECT_BINARY_DIR}/generated/qimplantConfig.cmake INSTALL_DESTINATION ${QIMPLANT_CMAKE_DIR})
# 0.x: a minor version may change the API.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/generated/qimplantConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/generated/qimplantConfig.cmake
              ${PROJECT_BINARY_DIR}/generated/qimplantConfigVersion.cmake
  DESTINATION ${QIMPLANT_CMAKE_DIR} COMPONENT Development)

# The .pc file finds its prefix from its own place, so it works under DESTDIR and relocated.
file(RELATIVE_PATH QIMPLANT_PC_TO_PREFIX /p/${CMAKE_INSTALL_LIBDIR}/pkgconfig /p)
configure_file(${CMAKE_CURRENT_LIST_DIR}/qimplant.pc.in ${PROJECT_BINARY_DIR}/generated/qimplant.pc
  @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/generated/qimplant.pc
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig COMPONENT Development)

# Debian packages: q-implant (the tool and its man page; Depends from dpkg-shlibdeps) and
# libqimplant-dev (library, headers, CMake and pkg-config files).
set(CPACK_PACKAGE_NAME q-implant)
set(CPACK_PACKAGE_VENDOR "q-implant")
set(CPACK_PACKAGE_CONTACT "q-implant maintainers <q-implant@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "writes quantization parameters (qparam.json + npy) into circle / tflite models")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_GENERATOR DEB)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL Runtime Development)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_SECTION science)
set(CPACK_DEBIAN_RUNTIME_PACKAGE_NAME q-implant)
# CPack puts the summary first and indents these lines itself.
set(CPACK_DEBIAN_RUNTIME_DESCRIPTION
    "q-implant takes an fp32 circle (Samsung ONE) or tflite model and quantization parameters
computed elsewhere (qparam.json + npy files) and writes the quantized model, checking it
against the target runtime's rules. Also inspect, names, extract, check and eval.")
set(CPACK_DEBIAN_DEVELOPMENT_PACKAGE_NAME libqimplant-dev)
set(CPACK_DEBIAN_DEVELOPMENT_PACKAGE_SECTION libdevel)
set(CPACK_DEBIAN_DEVELOPMENT_PACKAGE_DEPENDS
    "libflatbuffers-dev, nlohmann-json3-dev (>= 3.10)")
set(CPACK_DEBIAN_DEVELOPMENT_DESCRIPTION
    "The static library behind q-implant (qimplant::implant and the inspect, extract, check and
eval stages), with its headers under include/qimplant, a CMake package
(find_package(qimplant)) and a pkg-config file.")
# The packages carry no debug information (a RelWithDebInfo binary is over 70 MB with it).
set(CPACK_STRIP_FILES ON)
include(CPack)
