// anatomy.glsl: the forward pass in stages, for the anatomy (included after network.glsl, never
// compiled alone). geometry.stage_positions / stage_points is its numpy twin and the judge:
//   0 x flat in the view's (1, 2) plane through lift_view(0) | 1 W1 x | 2 W1 x + b1 | 3 h1
//   (1..3 through the lift's projection) | 4 W2 h1 | 5 W2 h1 + b2 | 6 h2 (4..6 in the plane z = 0)
//   | 7 = 6 (the cut moves nothing). Between stages i and i + 1 the position is linear in s.
// uniforms: network.glsl's, u_stage (float: s in [0, 7]; negative = no anatomy, the panel's own
//           placement)
// functions: stage_position(x, s) -> 3-D point, staged_place(x, space) -> place(x, space), or the
//            stage position in the lift when u_stage >= 0

uniform float u_stage;

vec3 stage_position(vec2 x, float s) {
    vec4 a = u_W1 * vec4(x, 0.0, 0.0);
    vec4 z1 = a + u_b1;
    vec4 h1 = act(z1);
    vec2 u = (u_W2 * h1).xy;
    vec2 z2 = u + u_b2.xy;
    vec2 h2 = act(vec4(z2, 0.0, 0.0)).xy;
    float i = clamp(floor(s), 0.0, 6.0);
    float t = s - i;
    vec3 p;
    vec3 q;
    if (i < 0.5) { p = lift_view(vec4(0.0)) + vec3(x, 0.0); q = lift_view(a); }
    else if (i < 1.5) { p = lift_view(a); q = lift_view(z1); }
    else if (i < 2.5) { p = lift_view(z1); q = lift_view(h1); }
    else if (i < 3.5) { p = lift_view(h1); q = vec3(u, 0.0); }
    else if (i < 4.5) { p = vec3(u, 0.0); q = vec3(z2, 0.0); }
    else if (i < 5.5) { p = vec3(z2, 0.0); q = vec3(h2, 0.0); }
    else { p = vec3(h2, 0.0); q = p; }
    return mix(p, q, t);
}

vec3 staged_place(vec2 x, float space) {
    if (u_stage >= 0.0 && space < 0.5) return stage_position(x, u_stage);
    return place(x, space);
}
