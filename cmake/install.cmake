# Install rules: headers, both libraries, a pkg-config file and a CMake
# package config (find_package(slipstream) → slipstream::slipstream).
include(CMakePackageConfigHelpers)

install(DIRECTORY include/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(TARGETS slipstream slipstream_static EXPORT slipstreamTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT slipstreamTargets NAMESPACE slipstream::
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/slipstream)

set(SLIP_PC_REQUIRES_PRIVATE "zlib")
if(SLIP_WITH_NATS)
  set(SLIP_PC_REQUIRES_PRIVATE "${SLIP_PC_REQUIRES_PRIVATE} libnats")
endif()
# The .pc file finds its prefix relative to itself (${pcfiledir}), so an
# install moved or made with `cmake --install --prefix DIR` still works.
file(RELATIVE_PATH SLIP_PC_PREFIX_FROM_PCDIR
  "/prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/prefix")
string(REGEX REPLACE "/$" "" SLIP_PC_PREFIX_FROM_PCDIR "${SLIP_PC_PREFIX_FROM_PCDIR}")
configure_file(${PROJECT_SOURCE_DIR}/cmake/slipstream.pc.in
  ${PROJECT_BINARY_DIR}/slipstream.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/slipstream.pc
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/slipstreamConfig.cmake.in
  ${PROJECT_BINARY_DIR}/slipstreamConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/slipstream)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/slipstreamConfigVersion.cmake
  COMPATIBILITY SameMajorVersion)
install(FILES ${PROJECT_BINARY_DIR}/slipstreamConfig.cmake
  ${PROJECT_BINARY_DIR}/slipstreamConfigVersion.cmake
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/slipstream)
