# Install rules and the `nnjit` CMake package: `cmake --install` puts the headers, the static
# library and lib/cmake/nnjit/ (config, version, exported target nnjit::nnjit) under the prefix.
# Included at the end of the top-level CMakeLists.txt, once every subdirectory has added what
# the library links.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

# Users compile nnjit's headers as C++20, whether installed or added with add_subdirectory.
target_compile_features(nnjit PUBLIC cxx_std_20)

install(TARGETS nnjit EXPORT nnjitTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/nnjit DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT nnjitTargets NAMESPACE nnjit:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/nnjit)

# nnjit is a static library, so what it links privately lands on its users' link line: the
# package must find those dependencies again. Each target the library links maps to how to
# find it; a new dependency the map does not know is reported here rather than at a user's.
get_target_property(nnjit_links nnjit LINK_LIBRARIES)
set(NNJIT_FIND_DEPENDENCIES "")
foreach(lib IN LISTS nnjit_links)
  string(REGEX REPLACE "^\\$<LINK_ONLY:(.*)>$" "\\1" lib "${lib}")
  # ::@ entries mark the directory a target_link_libraries() call came from.
  if(lib MATCHES "^\\$<BUILD_INTERFACE:" OR lib MATCHES "^::@")
    continue()
  elseif(lib STREQUAL "fmt::fmt")
    string(APPEND NNJIT_FIND_DEPENDENCIES "find_dependency(fmt 9 CONFIG)\n")
  elseif(lib STREQUAL "PkgConfig::OPENBLAS")
    string(APPEND NNJIT_FIND_DEPENDENCIES
      "find_dependency(PkgConfig)\n"
      "if(NOT TARGET PkgConfig::OPENBLAS)\n"
      "  pkg_check_modules(OPENBLAS REQUIRED IMPORTED_TARGET openblas)\n"
      "endif()\n")
  elseif(lib STREQUAL "LLVM")
    # LLVMConfig.cmake needs the C language enabled: project(app C CXX).
    string(APPEND NNJIT_FIND_DEPENDENCIES "find_dependency(LLVM 19.1 CONFIG HINTS \"${LLVM_DIR}\")\n")
  elseif(lib MATCHES "^OpenMP::")
    string(APPEND NNJIT_FIND_DEPENDENCIES "find_dependency(OpenMP COMPONENTS CXX)\n")
  elseif(lib STREQUAL "ZLIB::ZLIB")
    string(APPEND NNJIT_FIND_DEPENDENCIES "find_dependency(ZLIB)\n")
  elseif(lib MATCHES "::")
    message(WARNING "nnjit links ${lib}: teach cmake/nnjit_install.cmake how the installed package finds it")
  endif()
endforeach()

configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/nnjitConfig.cmake.in
  ${PROJECT_BINARY_DIR}/nnjitConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/nnjit)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/nnjitConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/nnjitConfig.cmake ${PROJECT_BINARY_DIR}/nnjitConfigVersion.cmake
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/nnjit)
