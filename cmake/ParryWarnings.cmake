# Every warning is an error: a warning is a bug we have not looked at yet.
# Applied to our own targets only (generated protobuf code gets the plain flags).
set(PARRY_WARNING_FLAGS
    -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wstrict-prototypes
    -Wmissing-prototypes -Wno-unused-parameter -Wvla -Wimplicit-fallthrough)

function(parry_target_warnings target)
  target_compile_options(${target} PRIVATE ${PARRY_WARNING_FLAGS})
  target_compile_definitions(${target} PRIVATE _GNU_SOURCE)
endfunction()
