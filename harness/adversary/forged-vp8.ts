// A plaintext VP8 keyframe, 160x120: a red frame with "FORGED" in yellow.
// Made once with Chromium (canvas.toDataURL('image/webp'): a lossy WebP's
// 'VP8 ' chunk is a complete VP8 intra frame) and checked to decode with
// WebCodecs' VideoDecoder. The inject-plaintext attack sends it unencrypted,
// so a client that let it through would decode and show it.

export const FORGED_VP8_KEYFRAME: Uint8Array = new Uint8Array(
  Buffer.from(
    'cBcAnQEqoAB4AD8Rhr5XLCimo6U3aLmAIglibuF0msjx+/Q8uH/Pe7zK+bOcT5gHi9eoDzK/sB1HP89vn/ogdL+v5Fwd0umaqwvB05R4zShhRfIHAqL/Glb0DHTxApJ6wIsKzLNeE1CPECqsM+X0LxlEAWk3aEJ7UNM7U3e+WD5qd1MeAJuHd7ugOeHS1NtVqr/XaY1AlABCAA13Z3Psmd4tDDYQcONkX4Rf30JK6Jz//6hUfCuFiuXIUXyEcvyxpW8UAAD+/iW4/ym6kAh///xnnQZ0Gbib6oOmxpbIYUBA+zp7P7/qNYq0hYKRO6g+vvvhJeZgrh/+EQUdti7V+6f/Nc85mavNcIpoLFST4u/wICgAqRH35m4HMV6oEufo4vk505q3j4wzTC/O5p+78bS2XnUuc3yXM/A3BbNYzSYhjV0Xyd5sQG5xBJg3JQ6bDNsGCK668zi5ggSOy38N+ggWMaWqF0KCcEGYOZ7vCTTwWuxPduce2heum4ATBa81djSjcPieFem4FQAWX/SsdtAZOZioGVtuqUKMsvxL2hY6amsMOSuywxyax+WIn3k1fZ2NfBCDmZb6F4ER2iQwjCWUma4IrXDOgmBNccvG6nRGFNFnRnIusRMZDyryICRu6hyoNXY5dRNITMXV11md3Uy1aMA8Dal7a2wfU/ng1xbNOkCYdTAWIbaA2YR22f8seyycrJ1aoLYa4MbO25sJlqjuAjiNKr/eTzwi6MCd8k6YdK6t/BzfxqM5zD2RoxEQXvh86hxXDnkKgwOYm/AtiAEOi28HRTaM4fCf0qN2q7AzKj/kEu1bg5QyCsqg+jTjqYVcnQVyPWB+YNszY4vzX3S5M1EY7QnzD1BVIOZwXImXapgqckavQc+tZZVm6j2L+h/dGhyzF9UYm65sfbDFg6fISy8ycNxtuITmoCOPv3zWXCTbOXP7Y230jVC0xSUNmxYXC3VyZIY5RIJj7VG38mXX4AShjjjkZy4Gtgg2NS7eMcHNG5Pb28729enEr4SMahuK4xaqc9ZEZksODicCnbWH5BCu9eRd6+3f7enyiFm1l21wMXCCWAvToLKdKOA4cA2A1JHzwKRQ1LMoCI4CxETDYA7t/sSwOVjgIvNmZf/Nuu5epfLDEtV5AvEUfyYfeNbXS3wlxU6zvvJ9KrwlxU5eTji3C1yQuyVuQAOw+do6NkD3ofBN6hJUROLn6wncK9Dx9vGRNHTqFMjn6KiE5sTxCkcAAIwVrDgAAA==',
    'base64',
  ),
);

export const FORGED_VP8_WIDTH = 160;
export const FORGED_VP8_HEIGHT = 120;
